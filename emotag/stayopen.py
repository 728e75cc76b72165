"""A fix for pyexiftool (0.5.6): when ExifTool dies in the middle of a command, pyexiftool reads the closed pipe
for ever (select says it is readable, and each read returns nothing), so emotag would hang at full CPU.

`install()` puts in a reader that ends with an error instead; `Metadata` then starts a new ExifTool.
"""

from __future__ import annotations

import os
import select


class ExifToolEnded(OSError):
    """ExifTool's output ended before the command did: the process died."""


def read_until(fd: int, ending: bytes, block_size: int) -> bytes:
    """Read `fd` until what was read ends with `ending` (trailing white space aside), as pyexiftool does."""
    chunks: list[bytes] = []
    tail = b""
    while not tail.strip().endswith(ending):
        select.select([fd], [], [])
        chunk = os.read(fd, block_size)
        if not chunk:
            raise ExifToolEnded("ExifTool ended in the middle of a command")
        chunks.append(chunk)
        tail = (tail + chunk)[-(len(ending) + 4) :]
    return b"".join(chunks)


def install() -> None:
    import exiftool.exiftool

    exiftool.exiftool._read_fd_endswith = read_until
