"""What a person is told of one photo's trouble: a one-line cause, and why emotag waits for a photo.

Every result, log line and error message that speaks of a photo's failure takes its words from here, so a cause
reads the same in `tag`, `watch`, `untag`, `report`, `top` and `show`.
"""

from __future__ import annotations

import os
from pathlib import Path

from emotag.locks import WAIT_SECONDS


def describe(error: BaseException) -> str:
    """A one-line cause for a person."""
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, FileNotFoundError):
        return "file vanished or does not exist"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def waiting_message(path: Path) -> str:
    """What a person is told while emotag waits for another program to finish writing a photo."""
    shown = os.fsencode(path).decode("utf-8", "backslashreplace").encode("unicode_escape").decode("ascii")
    return f"{shown}: another program is writing this photo; waiting up to {WAIT_SECONDS:g} s"
