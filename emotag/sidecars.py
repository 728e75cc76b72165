"""Which file holds a photo's tags: the photo itself, or an XMP sidecar beside it, and the sidecar's name.

A raw file (but DNG) is never written into: its tags go to a sidecar, named as the user's photo manager names
them. A killed write may leave a temporary file beside its target; `leftovers` names every one it can leave.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from emotag.config import DEFAULT_SIDECAR
from emotag.exiftool import EXIFTOOL_TMP, MetadataError, short_temporary
from emotag.photos import is_raw

EMBEDDED_RAW = frozenset({".dng"})
EMPTY_XMP = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
    ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
    " </rdf:RDF>\n"
    "</x:xmpmeta>\n"
    '<?xpacket end="w"?>\n'
)


def metadata_target(photo: Path, sidecar_style: str = DEFAULT_SIDECAR, always: bool = False) -> Path:
    """The file that holds a photo's tags: the photo itself, or for raw files (but DNG) an XMP sidecar.

    darktable and digiKam name sidecars `IMG_1.CR2.xmp`, Lightroom `IMG_1.xmp`; an existing Lightroom sidecar is
    updated whatever the style, so a Lightroom user's own sidecar stays the one that counts. With `always`, every
    photo that would carry its tags inside gets a sidecar instead, named `IMG_1.JPG.xmp` whatever the style: the
    JPEG of a raw+JPEG pair must not share `IMG_1.xmp` with its raw file.
    """
    embedded = not is_raw(photo) or photo.suffix.lower() in EMBEDDED_RAW
    if always and embedded:
        return through_link(photo.with_name(photo.name + ".xmp"))
    if embedded:
        return through_link(photo)
    lightroom = photo.with_suffix(".xmp")
    if sidecar_style == "lightroom" or lightroom.is_file():
        return through_link(lightroom)
    return through_link(photo.with_name(photo.name + ".xmp"))


def through_link(path: Path) -> Path:
    """The file a symbolic link points to: ExifTool would replace the link itself with a tagged copy."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def is_sidecar(target: Path) -> bool:
    return target.suffix.lower() == ".xmp"


@contextlib.contextmanager
def naming_sidecar(photo: Path, target: Path) -> Iterator[None]:
    """Say which file a metadata error is about when it is the photo's sidecar, not the photo."""
    try:
        yield
    except MetadataError as error:
        if not is_sidecar(target) or is_sidecar(photo):
            raise  # the photo itself (or the file a link to it points to)
        raise MetadataError(f"sidecar {target.name}: {error}") from None


def leftovers(target: Path) -> list[Path]:
    """The temporary files a killed write of `target` may have left behind."""
    return [target.with_name(target.name + EXIFTOOL_TMP), short_temporary(target), sidecar_temporary(target)]


def create_sidecar(path: Path) -> None:
    """An empty XMP sidecar, written atomically (a temporary file renamed into place)."""
    temporary = sidecar_temporary(path)
    try:
        temporary.write_text(EMPTY_XMP, encoding="utf-8")
        temporary.replace(path)
    except OSError:
        temporary.unlink(missing_ok=True)  # a full disk: leave nothing half-made behind
        raise


def sidecar_temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.emotag-tmp")
