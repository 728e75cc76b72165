"""Take emotag's tags off photos, restoring each keyword field to what it held before emotag."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from emotag.ledger import Ledger
from emotag.locks import photo_lock
from emotag.metadata import Metadata, MetadataError, metadata_target
from emotag.photos import is_photo
from emotag.pipeline import describe, log, waiting_message


def untag_photos(
    photos: Iterable[Path], metadata: Metadata, sidecar: str, dry_run: bool = False, sidecar_always: bool = False
) -> Iterator[tuple[Path, str, str | None]]:
    """(photo, "untagged" | "not_tagged" | "error", message) for each photo."""
    ledger = None if dry_run else Ledger()
    for photo in photos:
        try:
            if not photo.exists():
                raise FileNotFoundError(photo)
            if not is_photo(photo):
                raise MetadataError(f"not a photo format emotag reads ({photo.suffix or 'no suffix'})")
            target = metadata_target(photo, sidecar, sidecar_always)
            with photo_lock(photo, on_wait=lambda photo=photo: log.warning(waiting_message(photo))):  # locks.py
                record = metadata.read(target)
                if not record.tagged and not any(record.added.values()):
                    yield photo, "not_tagged", None
                    continue
                if not dry_run:
                    metadata.untag(target, record)
                    ledger.forget(photo)
            yield photo, "untagged", None
        except (MetadataError, OSError) as error:
            yield photo, "error", describe(error)
    if ledger:
        ledger.close()
