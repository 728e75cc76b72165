"""Which files are new photos, and when one has settled: the watcher's first decision, made without reading one.

The file system's events only say *which* paths to look at. A photo is handed on once its size and modification
time have held still, and, for JPEG and PNG, once it ends the way those files end (a copy that stalls half-way is
not read half-way). The delays are arguments, so the rule is tested in-process with a tenth of a second.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from emotag.exclusions import Exclusions
from emotag.exiftool import EXIFTOOL_TMP
from emotag.photos import is_photo

SETTLE_SECONDS = 1.0
"""How long a JPEG's or PNG's size and time must hold still before it is read (their ending is checked too)."""
UNCHECKED_SETTLE_SECONDS = 3.0
"""The same for formats whose completeness has no cheap test (TIFF, HEIC, raw): their time is the only sign."""
UNFINISHED_SECONDS = 10.0
"""A JPEG or PNG that does not end like one is read anyway once it has held still this long (and then
reported as broken if it is)."""
TEMPORARY_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".crdownload", ".download", ".swp", "~")
JPEG_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe"})
JPEG_END = b"\xff\xd9"
PNG_END = b"IEND\xaeB`\x82"
CHECKED_SUFFIXES = JPEG_SUFFIXES | {".png"}


def is_candidate(path: Path, roots: Iterable[Path], exclusions: Exclusions | None = None) -> bool:
    """Whether a path may be a new photo: a photo format, not hidden, not a temporary or ExifTool's own file, not
    in a folder left alone (`emotag.exclusions`: a NAS's thumbnails, the user's `--exclude`)."""
    name = path.name
    if name.endswith(EXIFTOOL_TMP) or name.lower().endswith(TEMPORARY_SUFFIXES) or name.startswith("~$"):
        return False
    if not is_photo(path):  # also rules out sidecars (.xmp)
        return False
    for root in roots:
        try:
            inside = path.relative_to(root).parts
        except ValueError:
            continue
        if exclusions is None:
            exclusions = Exclusions()
        if exclusions.leaves_out_any(str(root), inside):
            return False
        return not any(part.startswith(".") for part in inside) and not reached_through_link(root, inside)
    return False


def reached_through_link(root: Path, inside: tuple[str, ...]) -> bool:
    """Whether the path `inside` the root, or a folder on its way, is a symbolic link. Links are not followed, as
    `find_photos` does not follow them: a photo is seen under one path, and a link back up the tree is no loop."""
    path = root
    for part in inside:
        path = path / part
        if path.is_symlink():
            return True
    return False


def stat_key(path: Path) -> tuple[int, int] | None:
    """Size and modification time, or None for a file that is gone or is not a plain file (a folder, or a pipe,
    which a look at its ending would wait on forever)."""
    try:
        found = path.stat()
    except OSError:
        return None
    return (found.st_size, found.st_mtime_ns) if stat.S_ISREG(found.st_mode) else None


def looks_complete(path: Path) -> bool:
    """Whether a JPEG or PNG ends as such files end. Other formats have no cheap test, so they pass."""
    suffix = path.suffix.lower()
    ending = JPEG_END if suffix in JPEG_SUFFIXES else PNG_END if suffix == ".png" else None
    if ending is None:
        return True
    try:
        with open(path, "rb") as file:
            file.seek(0, os.SEEK_END)
            file.seek(max(0, file.tell() - 64))
            tail = file.read().rstrip(b"\0\r\n ")
    except OSError:
        return True  # let the tagger say what is wrong with it
    return tail.endswith(ending) or (ending == JPEG_END and ending in tail[-32:])


@dataclass
class Sighting:
    """What a photo looked like when last seen, and when to look again."""

    key: tuple[int, int]
    changed_at: float
    due: float


class Arrivals:
    """Photos that have arrived and are settling. Filled by the observer thread, emptied by the main one.

    `settle`: how long a JPEG or PNG must hold still; `unchecked_settle`: the same for formats without a test
    of their ending; `unfinished`: how long one that does not end as it should must hold still to be read anyway."""

    def __init__(
        self,
        settle: float = SETTLE_SECONDS,
        unchecked_settle: float = UNCHECKED_SETTLE_SECONDS,
        unfinished: float = UNFINISHED_SECONDS,
    ):
        self.settle = settle
        self.unchecked_settle = unchecked_settle
        self.unfinished = unfinished
        self._seen: dict[Path, Sighting] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def settle_time(self, path: Path) -> float:
        return self.settle if path.suffix.lower() in CHECKED_SUFFIXES else self.unchecked_settle

    def note(self, path: Path) -> bool:
        """Something happened to `path`: look again once it has held still. True for a photo not yet settling
        (for one already settling the main thread wakes in time anyway: its next look only moves later)."""
        key = stat_key(path)
        now = time.monotonic()
        with self._lock:
            if key is None:
                self._seen.pop(path, None)
                return False
            new = path not in self._seen
            self._seen[path] = Sighting(key, now, now + self.settle_time(path))
            return new

    def forget(self, path: Path) -> None:
        with self._lock:
            self._seen.pop(path, None)

    def next_due(self, now: float) -> float | None:
        """Seconds until a photo should be looked at again; None when nothing is settling."""
        with self._lock:
            if not self._seen:
                return None
            return max(0.0, min(s.due for s in self._seen.values()) - now)

    def settled(self, now: float) -> list[Path]:
        """The photos that held still long enough, in arrival order; they leave the list."""
        with self._lock:
            due = [(path, s) for path, s in self._seen.items() if s.due <= now]
        ready = []
        for path, sighting in due:
            key = stat_key(path)
            complete = key is not None and key == sighting.key and looks_complete(path)
            with self._lock:
                if self._seen.get(path) is not sighting:
                    continue  # noted again meanwhile
                if key is None:
                    del self._seen[path]
                elif key != sighting.key:
                    self._seen[path] = Sighting(key, now, now + self.settle_time(path))
                elif complete or now - sighting.changed_at >= self.unfinished:
                    del self._seen[path]
                    ready.append(path)
                else:
                    sighting.due = now + self.settle_time(path)
        return ready
