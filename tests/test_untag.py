"""`emotag untag` is exact: after `tag` then `untag`, ExifTool lists every tag of the photo as it did before (but its
own XMPToolkit line), in every format emotag writes into, and in the sidecars of raw files."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers import HAPPY_PHOTO, SAMPLES, exiftool_tags, fake_raw, json_lines, run_emotag

EMPTY_LISTS = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:xmpRights="http://ns.adobe.com/xap/1.0/rights/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="2">'
    "<dc:creator><rdf:Seq/></dc:creator><xmpRights:UsageTerms><rdf:Alt/></xmpRights:UsageTerms>"
    "</rdf:Description></rdf:RDF></x:xmpmeta>"
)
"""XMP as some programs leave it: an empty creator list and an empty language alternative beside a rating."""


def exiftool(path: Path, *arguments: str) -> None:
    subprocess.run(["exiftool", "-q", "-overwrite_original", *arguments, "--", str(path)], check=True)


def listing(path: Path) -> list[str]:
    """`exiftool -a -G1` as a person reads it, without the file system's view and ExifTool's version; sorted, as
    ExifTool writes XMP properties in an order of its own (which means nothing to XMP)."""
    output = subprocess.run(["exiftool", "-a", "-G1", "-s", "--", str(path)], capture_output=True, text=True).stdout
    ignored = ("[System]", "[ExifTool]      ExifToolVersion", "[XMP-x]         XMPToolkit")
    return sorted(line for line in output.splitlines() if not line.startswith(ignored))


def photoshop_like(path: Path) -> None:
    """IPTC as Photoshop writes it (no EnvelopeRecordVersion, an IPTCDigest in step), and XMP with empty lists."""
    exiftool(path, "-IPTC:CodedCharacterSet=UTF8", "-IPTC:City=Zürich", "-IPTC:Keywords=Family")
    exiftool(path, "-IPTC:EnvelopeRecordVersion=", "-Photoshop:IPTCDigest=new")
    xmp = path.with_name("lists.xmp")
    xmp.write_text(EMPTY_LISTS)
    exiftool(path, f"-XMP<={xmp}")
    xmp.unlink()


def make(kind: str, folder: Path) -> tuple[Path, Path]:
    """(the photo to tag, the file whose listing must come back) for each kind of file."""
    source = SAMPLES / HAPPY_PHOTO
    if kind in ("jpeg", "jpeg-photoshop"):
        photo = Path(shutil.copy(source, folder / "photo.jpg"))
        if kind == "jpeg-photoshop":
            photoshop_like(photo)
        return photo, photo
    if kind in ("tiff", "tiff-with-iptc", "png", "heic"):
        import pillow_heif

        pillow_heif.register_heif_opener()
        suffix, form = {"tiff": (".tif", "TIFF"), "tiff-with-iptc": (".tif", "TIFF"), "png": (".png", "PNG")}.get(
            kind, (".heic", "HEIF")
        )
        photo = folder / f"photo{suffix}"
        Image.open(source).save(photo, form)
        if kind == "tiff-with-iptc":
            exiftool(photo, "-IPTC:City=Paris", "-XMP-dc:Title=Trip")
        return photo, photo
    raw = folder / "IMG_0001.NEF"
    fake_raw(raw, side=800)
    if kind == "raw-new-sidecar":
        return raw, raw.with_name(raw.name + ".xmp")
    sidecar = raw.with_name(raw.name + ".xmp")  # the user's own, with keywords and empty lists
    keywords = (
        "<dc:subject><rdf:Bag><rdf:li>Holiday</rdf:li></rdf:Bag></dc:subject><lr:hierarchicalSubject><rdf:Bag>"
        "<rdf:li>Places|Lake</rdf:li></rdf:Bag></lr:hierarchicalSubject><dc:creator>"
    )
    lightroom = 'xmlns:lr="http://ns.adobe.com/lightroom/1.0/" xmlns:dc='
    sidecar.write_text(EMPTY_LISTS.replace("<dc:creator>", keywords).replace("xmlns:dc=", lightroom))
    return raw, sidecar


KINDS = ["jpeg", "jpeg-photoshop", "tiff", "tiff-with-iptc", "png", "heic", "raw-new-sidecar", "raw-own-sidecar"]


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_tag_then_untag_gives_back_the_same_exiftool_listing(tmp_path, kind):
    photo, holder = make(kind, tmp_path)
    before = listing(holder) if holder.exists() else None
    tagged = json_lines(run_emotag("tag", "--json", str(photo), check=True).stdout)[0]
    assert tagged["tags"] == ["Happy"], tagged
    warnings = exiftool_tags(holder, "ExifTool:Warning")
    assert not warnings, f"ExifTool finds the tagged file out of step: {warnings}"
    run_emotag("untag", str(photo), check=True)
    if before is None:
        assert not holder.exists(), "the sidecar emotag made is still there"
        return
    after = listing(holder)
    if kind == "heic":  # ExifTool keeps an empty XMP item, which moves the image data (its offset, not its bytes)
        after = [line for line in after if "MediaDataOffset" not in line]
        before = [line for line in before if "MediaDataOffset" not in line]
    assert after == before


@pytest.mark.slow
def test_the_iptc_digest_stays_in_step_so_adobe_trusts_both_copies(tmp_path):
    photo, _ = make("jpeg-photoshop", tmp_path)
    digest = exiftool_tags(photo, "Photoshop:IPTCDigest")["Photoshop:IPTCDigest"]
    run_emotag("tag", str(photo), check=True)
    tagged = exiftool_tags(photo, "Photoshop:IPTCDigest", "File:CurrentIPTCDigest", "IPTC:Keywords")
    assert tagged["IPTC:Keywords"] == ["Family", "Happy"]
    assert tagged["Photoshop:IPTCDigest"] == tagged["File:CurrentIPTCDigest"] != digest
    run_emotag("untag", str(photo), check=True)
    assert exiftool_tags(photo, "Photoshop:IPTCDigest", "File:CurrentIPTCDigest") == {
        "Photoshop:IPTCDigest": digest,
        "File:CurrentIPTCDigest": digest,
    }
