"""A fix for pyexiftool (0.5.6): when ExifTool dies in the middle of a command, pyexiftool reads the closed pipe
for ever (select says it is readable, and each read returns nothing), so emotag would hang at full CPU.

`install()` puts in a reader that ends with an error instead; `Metadata` then starts a new ExifTool.

It also starts ExifTool in a process group of its own. Ctrl-C in a terminal reaches the whole foreground group,
and ExifTool answers SIGINT by quitting: emotag would lose its ExifTool in the middle of the photos it finishes
before stopping. ExifTool still goes when emotag goes (pyexiftool asks the kernel for SIGTERM then, on Linux), and
emotag stops it itself on every way out.
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


def own_process_group(set_pdeathsig):
    """pyexiftool's `_set_pdeathsig(signal)`, whose function runs in the child before ExifTool starts, made to also
    put the child in a process group of its own."""

    def with_own_group(sig):
        before = set_pdeathsig(sig)

        def in_child():
            os.setpgrp()
            if before is not None:
                before()

        return in_child

    with_own_group.emotag = True
    return with_own_group


def install() -> None:
    import exiftool.exiftool

    exiftool.exiftool._read_fd_endswith = read_until
    if not getattr(exiftool.exiftool._set_pdeathsig, "emotag", False):
        exiftool.exiftool._set_pdeathsig = own_process_group(exiftool.exiftool._set_pdeathsig)
