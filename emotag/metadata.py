"""Where the metadata names used to live, kept for code written against them before the split.

emotag's metadata is three modules now: `emotag.exiftool` (the ExifTool process and its arguments),
`emotag.sidecars` (which file holds a photo's tags) and `emotag.record` (emotag's record, read and written).
Import from those; this module goes once nothing imports it.
"""

from __future__ import annotations

from emotag.config import SIDECAR_STYLES
from emotag.exiftool import EXIFTOOL_MISSING, EXIFTOOL_TMP, MetadataError, safe_argument
from emotag.record import Metadata, TagRecord, supported_fields, writable
from emotag.sidecars import leftovers, metadata_target

__all__ = [
    "EXIFTOOL_MISSING",
    "EXIFTOOL_TMP",
    "SIDECAR_STYLES",
    "Metadata",
    "MetadataError",
    "TagRecord",
    "leftovers",
    "metadata_target",
    "safe_argument",
    "supported_fields",
    "writable",
]
