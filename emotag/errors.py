"""The one base of every error emotag reports to a person.

The command line turns an `EmotagError` into one line, `emotag: ...`, and exit status 1. Anything else that
escapes is a bug, and shows its traceback: a bare `RuntimeError` is never caught as if it were a message.
"""


class EmotagError(Exception):
    """An error whose message is written for a person: it names the file or setting, and the cause."""


class ModelError(EmotagError):
    """A model emotag needs (the expression model, or one of dlib's) is missing or cannot be loaded."""
