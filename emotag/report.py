"""`emotag report`: what emotag has written, counted per folder and per tag, from the photos themselves.

The photos' own metadata is the truth (a ledger may be lost or belong to another machine), and reading it needs
ExifTool alone: no model is loaded. A tag counts where emotag's record names the emotion and its keyword is
still in the photo, so a keyword the user took away is not counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from emotag.causes import describe
from emotag.config import DEFAULT_SIDECAR
from emotag.discovery import check_photo
from emotag.emotions import EMOTIONS
from emotag.exiftool import MetadataError
from emotag.photos import PhotoError
from emotag.record import Metadata, TagRecord
from emotag.sidecars import metadata_target
from emotag.tags import TagScheme


@dataclass
class FolderReport:
    """The photos of one folder (not counting its subfolders), or of all of them: `folder` None."""

    folder: str | None
    photos: int = 0
    read: int = 0  # carry emotag's record: emotag read them
    tagged: int = 0  # carry at least one of emotag's emotion tags
    errors: int = 0
    tags: Counter = field(default_factory=Counter)  # label -> photos carrying it
    folders: int = 1

    @property
    def unread(self) -> int:
        """Photos without emotag's record: no face was found in them, or emotag has not read them yet."""
        return self.photos - self.read - self.errors

    def add(self, other: FolderReport) -> None:
        self.photos += other.photos
        self.read += other.read
        self.tagged += other.tagged
        self.errors += other.errors
        self.tags.update(other.tags)

    def to_json(self) -> dict:
        data = {"folder": self.folder, "photos": self.photos, "read": self.read, "tagged": self.tagged}
        data |= {"unread": self.unread}
        data |= {"errors": self.errors, "tags": dict(self.tags)}
        return data | ({"folders": self.folders} if self.folder is None else {})


@dataclass
class Report:
    folders: list[FolderReport]
    total: FolderReport
    errors: list[tuple[Path, str]]


def labels_present(record: TagRecord, scheme: TagScheme) -> list[str]:
    """The labels of the emotions emotag's record names whose keyword the photo still carries, in FER order."""
    values = {value for values in record.fields.values() for value in values}
    leaves = {value.replace("/", "|").rsplit("|", 1)[-1] for value in values}
    return [scheme.label(e) for e in EMOTIONS if e in record.emotions and scheme.label(e) in leaves]


def read_records(
    photos: Iterable[Path], metadata: Metadata, sidecar: str, sidecar_always: bool = False
) -> Iterator[tuple[Path, TagRecord | None, str | None]]:
    """Each photo's record, or the reason it could not be read."""
    for photo in photos:
        try:
            check_photo(photo)
            yield photo, metadata.read(metadata_target(photo, sidecar, sidecar_always)), None
        except (PhotoError, MetadataError, OSError) as error:
            yield photo, None, describe(error)


def make_report(
    photos: Iterable[Path],
    metadata: Metadata,
    scheme: TagScheme,
    sidecar: str = DEFAULT_SIDECAR,
    looked_at: Callable[[], None] | None = None,
    sidecar_always: bool = False,
) -> Report:
    """Count the photos per folder and per tag; `looked_at` is called once per photo (a progress bar's step)."""
    folders: dict[str, FolderReport] = {}
    errors = []
    for photo, record, error in read_records(photos, metadata, sidecar, sidecar_always):
        folder = folders.setdefault(str(photo.parent), FolderReport(str(photo.parent)))
        folder.photos += 1
        if error:
            folder.errors += 1
            errors.append((photo, error))
        elif record.tagged:
            labels = labels_present(record, scheme)
            folder.read += 1
            folder.tagged += bool(labels)
            folder.tags.update(labels)
        if looked_at:
            looked_at()
    ordered = [folders[name] for name in sorted(folders)]
    total = FolderReport(None, folders=len(ordered))
    for folder in ordered:
        total.add(folder)
    return Report(ordered, total, errors)


def in_words(report: FolderReport, scheme: TagScheme, show: Callable[[str], str] = str) -> str:
    """One line for a person: `/photos/2019: 12 photos, 9 read by emotag, 8 tagged (Happy 5, Neutral 3), ...`;
    `show` makes a folder's name fit for one line."""
    order = {scheme.label(e): i for i, e in enumerate(EMOTIONS)}
    tags = ", ".join(f"{label} {n}" for label, n in sorted(report.tags.items(), key=lambda kv: order.get(kv[0], 99)))
    where = show(report.folder) if report.folder is not None else f"all ({plural(report.folders, 'folder')})"
    line = f"{where}: {plural(report.photos, 'photo')}, {report.read} read by emotag, {report.tagged} tagged"
    line += f" ({tags})" if tags else ""
    line += f", {report.unread} with no faces or not read yet" if report.unread else ""
    return line + (f", {plural(report.errors, 'error')}" if report.errors else "")


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"
