"""Every format emotag reads: tags land where that format keeps them, and the pixels stay the same."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from tests.helpers import HAPPY_PHOTO, SAMPLES, as_list, exiftool_tags, fake_raw, json_lines, pixels, run_emotag

FORMATS = {"photo.png": "PNG", "photo.tif": "TIFF", "photo.webp": "WEBP", "photo.heic": "HEIF"}


@pytest.fixture
def formats(tmp_path) -> Path:
    import pillow_heif

    pillow_heif.register_heif_opener()
    folder = tmp_path / "formats"
    folder.mkdir()
    source = Image.open(SAMPLES / HAPPY_PHOTO)
    for name, kind in FORMATS.items():
        source.save(folder / name, kind, **({"quality": 95} if kind in ("WEBP", "HEIF") else {}))
    fake_raw(folder / "IMG_0001.NEF", side=800)
    return folder


@pytest.mark.slow
def test_each_format_is_tagged_in_place_or_in_a_sidecar(formats):
    before = {name: pixels(formats / name) for name in FORMATS}
    raw_bytes = (formats / "IMG_0001.NEF").read_bytes()
    result = run_emotag("tag", str(formats), "--json", check=True)
    statuses = {Path(r["path"]).name: (r["status"], r["tags"]) for r in json_lines(result.stdout)}
    assert statuses == {name: ("tagged", ["Happy"]) for name in [*FORMATS, "IMG_0001.NEF"]}, result.stderr
    for name in FORMATS:
        written = exiftool_tags(formats / name, "XMP-dc:Subject", "XMP-lr:HierarchicalSubject")
        assert as_list(written["XMP-dc:Subject"]) == ["Happy"], name
        assert (pixels(formats / name) == before[name]).all(), f"{name}: pixels changed"
    assert (formats / "IMG_0001.NEF").read_bytes() == raw_bytes, "a raw file must never be written"
    sidecar = formats / "IMG_0001.NEF.xmp"
    assert exiftool_tags(sidecar, "XMP-lr:HierarchicalSubject")["XMP-lr:HierarchicalSubject"] == [
        "Emotion",
        "Emotion|Happy",
    ]


RATED_SIDECAR = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="3"/></rdf:RDF></x:xmpmeta>'
)


@pytest.mark.slow
def test_raw_sidecar_in_lightroom_style_is_removed_by_untag_only_if_emotag_made_it(formats):
    raw, sidecar = formats / "IMG_0001.NEF", formats / "IMG_0001.xmp"
    run_emotag("tag", str(raw), "--sidecar", "lightroom", check=True)
    assert sidecar.is_file() and not (formats / "IMG_0001.NEF.xmp").exists()
    run_emotag("untag", str(raw), "--sidecar", "lightroom", check=True)
    assert not sidecar.exists(), "the sidecar emotag made, empty again, would take over later runs"

    sidecar.write_text(RATED_SIDECAR)  # the photographer's own, as their raw developer left it
    run_emotag("tag", str(raw), check=True)
    run_emotag("untag", str(raw), check=True)
    assert exiftool_tags(sidecar, "XMP-xmp:Rating", "XMP-dc:Subject", "XMP-emotag:all") == {"XMP-xmp:Rating": 3}
