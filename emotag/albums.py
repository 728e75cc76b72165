"""`top`'s albums: folders of numbered copies or links that emotag makes, and knows again by their manifest.

An album folder holds a hidden manifest, `.emotag-album.json`, naming each file emotag put there (and, for a
copy, its size and modification time then). It lets a second `top` into the same folder replace exactly what
the first put there, never a file of the user's (one they added, or a copy they changed since: edited, retagged),
and lets `top` leave emotag's own copies out when the album lies inside the folders it ranks.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

MANIFEST = ".emotag-album.json"


def read_manifest(folder: Path) -> dict[str, dict]:
    """What emotag put into `folder` last time: file name -> what it was; empty where emotag made no album."""
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        files = data["files"]
        return {str(name): dict(entry) for name, entry in files.items()} if isinstance(files, dict) else {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def still_ours(path: Path, entry: dict) -> bool:
    """Whether `path` is still what emotag put there: the link it made, or its copy unchanged since."""
    try:
        found = path.lstat()
    except OSError:
        return False
    if entry.get("link"):
        return path.is_symlink()
    return not path.is_symlink() and (found.st_size, found.st_mtime_ns) == (entry.get("size"), entry.get("mtime_ns"))


def leave_out_albums(photos: Iterable[Path]) -> list[Path]:
    """`photos` without the copies emotag put into an album (ranking them again would rank each photo twice).

    A copy is left out even when its metadata changed since (tagged, rated): it is still a second of a photo."""
    manifests: dict[Path, dict[str, dict]] = {}
    kept = []
    for photo in photos:
        if photo.parent not in manifests:
            manifests[photo.parent] = read_manifest(photo.parent)
        if photo.name not in manifests[photo.parent]:
            kept.append(photo)
    return kept


def make_album(photos: list[Path], folder: Path, link: bool) -> list[str]:
    """Put `photos` into `folder` as `001_name`, `002_name`... (best first), copied or symbolically linked.

    What emotag put there before goes first; the user's own files stay, and a name one of them holds is left to
    it (said in the problems returned, one line each).
    """
    problems = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return [f"{folder}: cannot make the album folder: {error.strerror or error}"]
    for name, entry in read_manifest(folder).items():
        old = folder / name
        if os.sep in name or name in ("", ".", "..") or not still_ours(old, entry):
            continue  # gone, or the user's now
        try:
            old.unlink()
        except OSError as error:
            problems.append(f"{old}: cannot take it out of the album: {error.strerror or error}")
    placed: dict[str, dict] = {}
    for number, photo in enumerate(photos, 1):
        destination = folder / f"{number:03d}_{photo.name}"
        if destination.exists() or destination.is_symlink():
            problems.append(f"{destination}: already there and not emotag's: left as it is, this photo not added")
            continue
        try:
            if link:
                os.symlink(photo.resolve(), destination)
                placed[destination.name] = {"link": True}
            else:
                shutil.copy2(photo, destination)
                found = destination.stat()
                placed[destination.name] = {"size": found.st_size, "mtime_ns": found.st_mtime_ns}
        except OSError as error:
            problems.append(f"{destination}: {error.strerror or error}")
    try:
        write_manifest(folder, placed)
    except OSError as error:
        problems.append(f"{folder / MANIFEST}: cannot record the album: {error.strerror or error}")
    return problems


def write_manifest(folder: Path, files: dict[str, dict]) -> None:
    """Record what emotag put into `folder`, whole or not at all (a temporary file renamed over the old one)."""
    manifest = folder / MANIFEST
    temporary = folder / f"{MANIFEST}.tmp"
    data = {"made_by": "emotag top", "files": files}
    try:
        temporary.write_text(json.dumps(data, indent=1, ensure_ascii=True) + "\n", encoding="utf-8")
        temporary.replace(manifest)
    finally:
        temporary.unlink(missing_ok=True)
