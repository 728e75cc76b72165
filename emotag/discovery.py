"""Which files are photos to look at: folders walked, links and hidden or left-alone files skipped, and each
photo checked before ExifTool or the decoder is asked about it (so a refusal is one line in emotag's words)."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

from emotag.causes import describe
from emotag.exclusions import Exclusions
from emotag.photos import PhotoError, is_photo


def find_photos(paths: Iterable[Path], exclusions: Exclusions | None = None) -> Iterator[Path]:
    """Photos under `paths`: files as given, folders walked recursively, each photo once.

    Hidden files and folders are skipped, and so are the folders and files `exclusions` leaves alone (by default
    those NAS systems and photo managers keep for themselves: `emotag.exclusions`); symbolic links found in a
    folder are not followed (so a link out of the tree, or a loop, is never walked); a link named on the command
    line is. A folder that cannot be listed is yielded itself, so that it is reported like a photo that cannot be
    read.
    """
    exclusions = exclusions or Exclusions()
    seen: set[str] = set()
    for path in paths:
        for photo in _walk(path, exclusions) if path.is_dir() else [path]:
            key = os.path.realpath(photo)
            if key not in seen:
                seen.add(key)
                yield photo


def _walk(folder: Path, exclusions: Exclusions) -> Iterator[Path]:
    unlisted: list[OSError] = []
    for root, folders, files in os.walk(folder, onerror=unlisted.append, followlinks=False):
        yield from (Path(error.filename) for error in unlisted)
        unlisted.clear()
        below = os.path.relpath(root, folder)

        def left_alone(name: str, root=root, below=below) -> bool:
            inside = name if below == "." else f"{below}/{name}"
            return name.startswith(".") or exclusions.leaves_out(name, inside, os.path.join(root, name))

        folders[:] = sorted(f for f in folders if not left_alone(f) and not os.path.islink(os.path.join(root, f)))
        for name in sorted(files):
            path = Path(root, name)
            if not left_alone(name) and is_photo(path) and not path.is_symlink():
                yield path
    yield from (Path(error.filename) for error in unlisted)


def check_photo(path: Path) -> None:
    """Refuse, in one line, a path that is gone, is not a plain file, or is not a photo emotag reads."""
    try:
        found = path.stat()
    except OSError as error:
        raise PhotoError(_missing(path, error)) from None
    if stat.S_ISDIR(found.st_mode):
        try:
            os.scandir(path).close()
        except OSError as error:
            raise PhotoError(f"cannot look into this folder: {describe(error)}") from None
        raise PhotoError("is a folder, not a photo")
    if not stat.S_ISREG(found.st_mode):
        raise PhotoError("not a regular file (a device, pipe or socket), so not a photo")
    if not is_photo(path):
        raise PhotoError(f"not a photo format emotag reads ({path.suffix or 'no suffix'})")
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))  # say "permission denied", not ExifTool's "opening"
    except OSError as error:
        raise PhotoError(describe(error)) from None


def _missing(path: Path, error: OSError) -> str:
    """Why a path cannot be looked at: gone, a link to nowhere, a link loop, or not allowed."""
    if error.errno == errno.ELOOP:
        return "symbolic link loop"
    if isinstance(error, FileNotFoundError) and path.is_symlink():
        return "symbolic link to a file that does not exist"
    return describe(error)
