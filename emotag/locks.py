"""One writer per photo: two emotag processes (two `tag` runs, or `tag` and `watch`) never write a photo at once.

The lock is an advisory `flock` on the photo file itself, held from re-reading its tags to writing them, so the
second writer sees the first one's tags and merges with them (no tag lost, none doubled). Nothing is created
beside the photos, and it works for every user of a shared folder. ExifTool replaces a photo by renaming a new
file over it, so a lock taken on the old file is dropped and taken again on the new one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

WAIT_SECONDS = 10.0
"""How long to wait for another process's write. emotag's own writes take milliseconds, so a lock held for
seconds is another program's (or a stuck one): the photo is left for the next run rather than the run held up."""
SAY_AFTER_SECONDS = 1.0
"""After this long, `on_wait` is told, so that a person learns why nothing moves."""


class LockTimeout(OSError):
    """Another process held the photo's lock for longer than it was waited for."""


@contextlib.contextmanager
def photo_lock(photo: Path, wait: float = WAIT_SECONDS, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the photo's write lock for the duration of the block; call `on_wait` once if it is long in coming."""
    deadline = time.monotonic() + wait
    waiting = _Waiting(wait, on_wait)
    while True:
        descriptor = os.open(photo, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        try:
            _lock(descriptor, deadline, waiting)
            if _same_file(descriptor, photo):
                break
        except BaseException:
            os.close(descriptor)
            raise
        os.close(descriptor)  # replaced while we waited: lock the file that is there now
    try:
        yield
    finally:
        os.close(descriptor)


class _Waiting:
    """Tells `on_wait` once, when the wait has lasted `SAY_AFTER_SECONDS`."""

    def __init__(self, wait: float, on_wait: Callable[[], None] | None):
        self.wait = wait
        self.say_at = time.monotonic() + min(SAY_AFTER_SECONDS, wait)
        self.on_wait = on_wait

    def tick(self) -> None:
        if self.on_wait is not None and time.monotonic() >= self.say_at:
            on_wait, self.on_wait = self.on_wait, None
            on_wait()


def _lock(descriptor: int, deadline: float, waiting: _Waiting) -> None:
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise LockTimeout(
                    f"another program kept this photo locked for {waiting.wait:g} s; left unchanged "
                    "(run emotag again once it is done)"
                ) from None
            waiting.tick()
            time.sleep(0.02)


def _same_file(descriptor: int, photo: Path) -> bool:
    try:
        now = os.stat(photo)
    except FileNotFoundError:
        return False
    held = os.fstat(descriptor)
    return (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino)


def remove_leftovers(paths: list[Path]) -> list[Path]:
    """Remove temporary files a killed write left (ExifTool refuses to write beside one); returns those removed.

    Only call this holding the photo's lock: then no emotag is writing them.
    """
    removed = []
    for path in paths:
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path)
    return removed
