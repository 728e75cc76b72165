"""Take emotag's tags off photos, restoring each keyword field to what it held before emotag."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

from emotag.causes import describe, waiting_message
from emotag.exiftool import MetadataError
from emotag.ledger import Ledger
from emotag.locks import photo_lock
from emotag.photos import is_photo
from emotag.record import Metadata
from emotag.results import Status, UntagResult
from emotag.sidecars import metadata_target

log = logging.getLogger("emotag")


def untag_photos(
    photos: Iterable[Path], metadata: Metadata, sidecar: str, dry_run: bool = False, sidecar_always: bool = False
) -> Iterator[UntagResult]:
    """What was done to each photo: untagged, not_tagged (nothing of emotag's in it) or error."""
    ledger = None if dry_run else Ledger()
    for photo in photos:
        try:
            if not photo.exists():
                raise FileNotFoundError(photo)
            if not is_photo(photo):
                raise MetadataError(f"not a photo format emotag reads ({photo.suffix or 'no suffix'})")
            target = metadata_target(photo, sidecar, sidecar_always)
            with photo_lock(photo, on_wait=lambda photo=photo: log.warning(waiting_message(photo))):  # locks.py
                record = metadata.read(target, to_write=True)
                if not record.tagged and not any(record.added.values()):
                    yield UntagResult(photo, Status.NOT_TAGGED)
                    continue
                if not dry_run:
                    metadata.untag(target, record)
                    ledger.leave_untagged(photo)  # the user's decision: tag and watch leave it alone from now on
            yield UntagResult(photo, Status.UNTAGGED)
        except (MetadataError, OSError) as error:
            yield UntagResult(photo, Status.ERROR, describe(error))
    if ledger:
        ledger.close()
