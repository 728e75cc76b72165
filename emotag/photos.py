"""Read a photo: decode it upright, at the reduced size face finding needs, as a grey array.

JPEGs are decoded with DCT scaling (Pillow's `draft`), so a 12 MP photo costs a fraction of a full decode. Raw
files are read through the preview JPEG the camera embedded, which ExifTool extracts.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from emotag.config import DEFAULT_MAX_SIDE
from emotag.errors import EmotagError

PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".tif", ".tiff", ".webp", ".heic", ".heif", ".hif"})
RAW_SUFFIXES = frozenset({".cr2", ".cr3", ".nef", ".arw", ".raf", ".orf", ".rw2", ".pef", ".srw", ".dng"})
MAX_PIXELS = 250_000_000
"""Larger images are refused before decoding: a few-kilobyte PNG can claim 60,000 x 60,000 pixels."""

Image.MAX_IMAGE_PIXELS = MAX_PIXELS
log = logging.getLogger("emotag")


class PhotoError(EmotagError):
    """A photo that cannot be read; the message says why, for a person."""


def damaged(error: BaseException) -> str:
    """Why a photo's image data cannot be decoded, for a photographer rather than in the decoder's words."""
    if "truncated" in str(error).lower():
        return "the image data stops short: the file is incomplete (a copy or download that did not finish?)"
    return "the image data is damaged and cannot be decoded"


@dataclass
class Photo:
    """A photo decoded for face finding.

    `grey` is the upright photo at `scale` times its displayed size (`width` x `height`), so a box found in `grey`
    maps back to the photo as displayed by dividing by `scale`.
    """

    path: Path
    grey: np.ndarray
    width: int
    height: int
    scale: float


def is_photo(path: Path) -> bool:
    """Whether emotag reads this file, by its suffix."""
    suffix = path.suffix.lower()
    return suffix in PHOTO_SUFFIXES or suffix in RAW_SUFFIXES


def is_raw(path: Path) -> bool:
    return path.suffix.lower() in RAW_SUFFIXES


def _register_heif() -> None:
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
    except ImportError:  # HEIC support is optional at run time
        pass


_register_heif()


UPSAMPLE = 2.0


def working_scale(width: int, height: int, max_side: int) -> float:
    """The factor from the photo as displayed to the image faces are found in.

    dlib's HOG detector finds faces from about 70 pixels wide. Doubling a photo finds faces of 36 pixels in it,
    so small photos are doubled; larger ones are brought to `max_side` (1600 by default: every hand-boxed face of
    the development photos is found there, at their own size and at 12 MP, `bench/face_recall.py`), which finds
    faces down to about 4.5% of the photo's long side.
    """
    return min(UPSAMPLE, max_side / max(width, height))


def decode(source: Path | io.BytesIO, max_side: int, name: Path) -> Photo:
    """Decode an image file (or bytes) upright and grey, at `working_scale`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's warnings on odd files (corrupt EXIF) are not for people
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as image:
                width, height = _displayed_size(image)
                scale = working_scale(width, height, max_side)
                image.draft("L", _draft_request(image.size, scale))
                upright = ImageOps.exif_transpose(image)
                grey = to_grey(_shrunk_if_wide(upright, scale))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoError(f"image too large (more than {MAX_PIXELS // 1_000_000} megapixels)") from None
    except MemoryError:
        raise PhotoError("not enough memory to decode it") from None
    except Image.UnidentifiedImageError:
        raise PhotoError("not an image: damaged, or not the format its name says") from None
    except (OSError, SyntaxError, ValueError) as error:
        log.info("%s: Pillow: %s", name, error)  # the decoder's own words, for an operator (emotag -v)
        raise PhotoError(damaged(error)) from None
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if grey.size != size:
        grey = grey.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return Photo(name, np.asarray(grey, dtype=np.uint8), width, height, scale)


INTEGER_WIDE_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})
WIDE_MODES = INTEGER_WIDE_MODES | {"F"}


def _shrunk_if_wide(image: Image.Image, scale: float) -> Image.Image:
    """A 16- or 32-bit image brought to the working size before `to_grey`: its NumPy arithmetic on a full-size
    250-megapixel scan would take gigabytes."""
    if image.mode not in WIDE_MODES or scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR)  # (Pillow's `reduce`, behind reducing_gap, lacks I;16)


def to_grey(image: Image.Image) -> Image.Image:
    """8-bit grey. Pillow's own conversion clips 16-bit images (scans, TIFFs) to white; scale them instead."""
    if image.mode in INTEGER_WIDE_MODES:
        values = np.asarray(image, dtype=np.uint32) if image.mode == "I" else np.asarray(image).astype(np.uint32)
        return Image.fromarray((np.clip(values, 0, 65535) // 257).astype(np.uint8), "L")
    if image.mode == "F":
        return Image.fromarray((np.clip(np.asarray(image), 0.0, 1.0) * 255).astype(np.uint8), "L")
    return image.convert("L")


def _draft_request(size: tuple[int, int], scale: float) -> tuple[int, int]:
    """The smallest size `draft` may decode to that still holds the working size (JPEG DCT scaling)."""
    factor = min(1.0, scale)
    return (max(1, int(size[0] * factor)), max(1, int(size[1] * factor)))


def displayed_size(path: Path, preview_reader=None) -> tuple[int, int]:
    """A photo's full size as displayed (EXIF orientation applied), from its header alone."""
    source = io.BytesIO(preview_reader(path)[0]) if is_raw(path) and preview_reader else path
    with warnings.catch_warnings(), Image.open(source) as image:
        warnings.simplefilter("ignore")
        return _displayed_size(image)


def _displayed_size(image: Image.Image) -> tuple[int, int]:
    """The full-resolution size as displayed: after EXIF orientation, before any `draft` shrinking."""
    width, height = image.size
    orientation = image.getexif().get(0x0112, 1)
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def read_photo(path: Path, max_side: int = DEFAULT_MAX_SIDE, preview_reader=None) -> Photo:
    """Read `path` for face finding; raw files through `preview_reader(path) -> (jpeg bytes, orientation)`."""
    if path.is_dir():
        raise PhotoError("is a folder, not a photo")
    if not is_raw(path):
        return decode(path, max_side, path)
    if preview_reader is None:
        raise PhotoError("raw files need ExifTool to extract their preview")
    preview, orientation = preview_reader(path)
    if not preview:
        raise PhotoError("raw file without an embedded preview image")
    photo = decode(io.BytesIO(preview), max_side, path)
    return _orient(photo, orientation)


ORIENTATION_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _orient(photo: Photo, orientation: int | None) -> Photo:
    """Apply a raw file's EXIF orientation to its preview (previews are usually stored unrotated)."""
    if orientation not in ORIENTATION_TRANSPOSE:
        return photo
    upright = Image.fromarray(photo.grey).transpose(ORIENTATION_TRANSPOSE[orientation])
    width, height = (photo.height, photo.width) if orientation in (5, 6, 7, 8) else (photo.width, photo.height)
    return Photo(photo.path, np.asarray(upright), width, height, photo.scale)
