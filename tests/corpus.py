"""The bad-input corpus of issue 6, made from nothing but Pillow, ExifTool and a few bytes.

`build_corpus(folder)` writes every case into `folder` and returns what each must come to: `Case.error` True for
a file that must get one error line and keep its bytes, False for an unusual but valid photo that must be read
(and, when it has a face, tagged) with its pixels unchanged. Nothing is downloaded.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from tests.helpers import HAPPY, SAMPLES, fake_raw

NO_FACE = SAMPLES / "rocket-launch.jpg"
LONG_NAME = "L" * (255 - len(".jpg")) + ".jpg"  # 255 bytes: the longest name Linux file systems allow


@dataclass
class Case:
    """One corpus file and what emotag must make of it."""

    name: str
    error: bool  # `emotag tag` must refuse it
    face: bool = False  # shows the happy face: tagged Happy when valid, ranked by `top` when readable
    readable: bool = False  # an error only to write: `top` and `show` read it


def happy(size: int = 400) -> Image.Image:
    """The sample's happy face, smaller: quick to read, still found."""
    with Image.open(HAPPY) as image:
        return image.convert("RGB").resize((size, size))


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(path: Path, side: int = 60_000) -> None:
    """A PNG of a few kilobytes whose header claims `side` x `side` grey pixels (3.6 GB decoded at 60,000).

    Only the first rows' data is there: any decoder that trusts the header allocates the whole image first.
    """
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\0" * (side + 1) * 64, 9)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", rows) + png_chunk(b"IEND", b"")
    )


def jpeg_with_segment(image: Image.Image, marker: bytes, payload: bytes) -> bytes:
    """A JPEG with one extra APPn segment (`marker` + payload) right after SOI."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    data = buffer.getvalue()
    segment = marker + struct.pack(">H", len(payload) + 2) + payload
    return data[:2] + segment + data[2:]


CORRUPT_EXIF = b"Exif\0\0" + b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", 40) + os.urandom(60)
BROKEN_XMP = (
    b"http://ns.adobe.com/xap/1.0/\0"
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject><rdf:Bag><rdf:li>Mine'
    b"</rdf:Bag></dc:subject></rdf:RDF>"
)
XMP_BOMB = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
    + ']>\n<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>&lol9;</dc:title>'
    "</rdf:Description></rdf:RDF></x:xmpmeta>\n"
)


def build_corpus(folder: Path) -> dict[str, Case]:
    """Write every case of issue 6 that is a file in a folder; returns the cases by file name."""
    folder.mkdir(parents=True, exist_ok=True)
    cases: list[Case] = []

    def broken(name: str, data: bytes) -> None:
        (folder / name).write_bytes(data)
        cases.append(Case(name, error=True))

    jpeg = io.BytesIO()
    happy().save(jpeg, "JPEG", quality=85)
    png = io.BytesIO()
    happy().save(png, "PNG")
    broken("empty.jpg", b"")
    broken("truncated.jpg", jpeg.getvalue()[: len(jpeg.getvalue()) // 2])
    broken("truncated.png", png.getvalue()[: len(png.getvalue()) // 2])
    broken("random.jpg", os.urandom(20_000))
    broken("text.heic", b"not a photo, just words\n" * 50)
    png_bomb(folder / "bomb.png")
    cases.append(Case("bomb.png", error=True))

    def valid(name: str, image: Image.Image, face: bool = True, **options) -> None:
        image.save(folder / name, **options)
        cases.append(Case(name, error=False, face=face))

    happy().save(folder / "png-named.jpg", "PNG")
    # ExifTool will not write a PNG as a JPEG: named, untouched
    cases.append(Case("png-named.jpg", error=True, face=True, readable=True))
    os.mkfifo(folder / "pipe.jpg")  # reading it would wait forever
    cases.append(Case("pipe.jpg", error=True))
    valid("one-pixel.jpg", Image.new("RGB", (1, 1), (200, 10, 10)), face=False)
    valid("one-pixel.png", Image.new("L", (1, 1), 7), face=False)
    valid("cmyk.jpg", happy().convert("CMYK"), quality=90)
    valid("sixteen-bit.tif", Image.fromarray(_sixteen_bit(happy())), format="TIFF")
    grey = happy().convert("LA")
    grey.putalpha(200)
    valid("grey-alpha.png", grey)
    valid("palette-alpha.png", happy().convert("P", palette=Image.Palette.ADAPTIVE), transparency=0)
    frames = [happy(), Image.new("RGB", (400, 400), (0, 90, 0))]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:], duration=200, loop=0)
    cases.append(Case("animated.gif", error=True))  # not a format emotag reads: named, refused, untouched
    frames[0].save(folder / "pages.tif", save_all=True, append_images=frames[1:], format="TIFF")
    cases.append(Case("pages.tif", error=False, face=True))
    (folder / "corrupt-exif.jpg").write_bytes(jpeg_with_segment(happy(), b"\xff\xe1", CORRUPT_EXIF))
    cases.append(Case("corrupt-exif.jpg", error=False, face=True))
    (folder / "broken-xmp.jpg").write_bytes(jpeg_with_segment(happy(), b"\xff\xe1", BROKEN_XMP))
    # emotag cannot keep the user's XMP when writing: must not touch it
    cases.append(Case("broken-xmp.jpg", error=True, face=True, readable=True))
    for name in (
        "-rf.jpg",
        "-overwrite_original.jpg",
        "-@ args.jpg",
        'it\'s "quoted" $(touch pwned) `id`.jpg',
        "with  spaces .jpg",
        "Ünïcødé 東京 фото.jpg",
        LONG_NAME,
    ):
        valid(name, happy(), quality=85)
    broken("line\nbreak.jpg", jpeg.getvalue())
    fake_raw(folder / "IMG_BOMB.NEF")
    (folder / "IMG_BOMB.NEF.xmp").write_text(XMP_BOMB, encoding="utf-8")
    cases.append(Case("IMG_BOMB.NEF", error=True, face=True, readable=True))
    fake_raw(folder / "IMG_GARBAGE.NEF")
    (folder / "IMG_GARBAGE.NEF.xmp").write_bytes(b"<x:xmpmeta garbage \x00\xff" + bytes(range(256)) * 2)
    cases.append(Case("IMG_GARBAGE.NEF", error=True))  # ExifTool cannot read it: no reading, no writing
    fake_raw(folder / "IMG_FOLDER.NEF")
    (folder / "IMG_FOLDER.NEF.xmp").mkdir()
    happy(100).save(folder / "IMG_FOLDER.NEF.xmp" / "inside.jpg")
    cases.append(Case("IMG_FOLDER.NEF", error=True))
    fake_raw(folder / "IMG_READONLY.NEF")
    (folder / "IMG_READONLY.NEF.xmp").write_text(_sidecar("Mine"), encoding="utf-8")
    (folder / "IMG_READONLY.NEF.xmp").chmod(0o444)
    cases.append(Case("IMG_READONLY.NEF", error=True, face=True, readable=True))
    happy().save(folder / "read-only.jpg", quality=85)
    (folder / "read-only.jpg").chmod(0o444)
    cases.append(Case("read-only.jpg", error=True, face=True, readable=True))
    (folder / "x.jpg").mkdir()  # a folder named like a photo: walked as a folder (it is empty)
    return {case.name: case for case in cases}


def _sidecar(keyword: str) -> str:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject><rdf:Bag>'
        f"<rdf:li>{keyword}</rdf:li></rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>\n"
    )


def _sixteen_bit(image: Image.Image):
    import numpy as np

    return (np.asarray(image.convert("L"), dtype=np.uint16) * 257).astype(np.uint16)
