"""darktable 4.x, run headless under Xvfb: it finds emotag's tags, and its Lua script tags photos itself."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from PIL import Image

from emotag.emotions import EMOTIONS
from tests.helpers import HAPPY_PHOTO, NEUTRAL_PHOTO, NO_FACE_PHOTOS, exiftool_tags, json_lines, run_emotag

pytestmark = pytest.mark.slow  # real darktable, digiKam and Lightroom stand-ins, and `emotag` processes

ROOT_TAG = "Emotion"

TAG_SELECTED = """
local t = ...
local images = t.import(t.photos)
local counts = t.load_script().tag_images(images)
t.emit("value", "tagged", counts.tagged)
t.emit("value", "errors", counts.error)
t.emit_tags(images)
"""


def emotion_tags(tags: set[str]) -> set[str]:
    return {tag for tag in tags if tag == ROOT_TAG or tag.startswith(ROOT_TAG + "|")}


def expected_tags(labels: list[str]) -> set[str]:
    """The tags darktable should hold for emotag's labels: the root and one child per emotion."""
    return {ROOT_TAG, *(f"{ROOT_TAG}|{label}" for label in labels)} if labels else set()


def test_photos_tagged_by_emotag_arrive_with_their_emotion_tags(album, darktable):
    results = {Path(r["path"]).name: r for r in json_lines(run_emotag("tag", "--json", str(album), check=True).stdout)}
    assert results[HAPPY_PHOTO]["tags"] == ["Happy"]

    photos = sorted(album.glob("*.jpg"))
    report = darktable("local t = ...\nt.emit_tags(t.import(t.photos))\n", photos)

    for photo in photos:
        assert emotion_tags(report.tags(photo.name)) == expected_tags(results[photo.name]["tags"]), photo.name
    assert report.tags(HAPPY_PHOTO) >= {"Emotion", "Emotion|Happy"}


def test_script_tags_untagged_photos_in_darktable_and_in_their_files(album, darktable):
    photos = [album / HAPPY_PHOTO, album / NEUTRAL_PHOTO, album / NO_FACE_PHOTOS[0]]
    confidence_preference = 'local t = ...\nt.dt.preferences.write("emotag", "min_confidence", "float", 0.85)\n'

    report = darktable(confidence_preference + TAG_SELECTED.replace("local t = ...\n", "", 1), photos)

    assert report.value("errors") == "0"
    assert "Emotion|Happy" in report.tags(HAPPY_PHOTO)
    assert emotion_tags(report.tags(NO_FACE_PHOTOS[0])) == set()
    for photo in photos:
        written = exiftool_tags(photo, "XMP-lr:HierarchicalSubject").get("XMP-lr:HierarchicalSubject", [])
        written = {written} if isinstance(written, str) else set(written)
        assert emotion_tags(report.tags(photo.name)) == written, f"darktable and {photo.name} disagree"
    thresholds = exiftool_tags(photos[0], "XMP-emotag:Thresholds")["XMP-emotag:Thresholds"]
    assert thresholds == " ".join(f"{emotion}=0.85" for emotion in EMOTIONS)
    tagged = sum(1 for photo in photos if emotion_tags(report.tags(photo.name)))
    assert report.value("tagged") == str(tagged)
    summary = f"emotag: 3 images: {tagged} tagged, {3 - tagged} without emotion tags, 0 errors"
    assert summary in [message for (message,) in report.of("print")]


def test_photos_tagged_outside_darktable_get_their_tags_from_the_script(album, darktable):
    """The user imported first and ran `emotag tag` in a terminal later: the script brings the tags in."""
    photo = album / HAPPY_PHOTO
    steps = f"""
local t = ...
local images = t.import(t.photos)
t.emit("value", "before", #t.dt.tags.get_tags(images[1]))
assert(os.execute({lua_string(f"emotag tag --json {shell_word(photo)} >/dev/null 2>&1")}), "emotag tag failed")
local counts = t.load_script().tag_images(images)
t.emit("value", "tagged", counts.tagged)
t.emit_tags(images)
"""
    report = darktable(steps, [photo])

    assert emotion_tags(report.tags(HAPPY_PHOTO)) == {"Emotion", "Emotion|Happy"}
    assert report.value("tagged") == "1"


def test_tag_on_import_reads_a_format_emotag_cannot_through_darktable(tmp_path, darktable):
    """A PPM is darktable's to decode: the script reads faces from darktable's JPEG export of it instead."""
    portrait = tmp_path / "portrait.ppm"
    with Image.open(Path(__file__).resolve().parents[2] / "samples" / HAPPY_PHOTO) as image:
        image.convert("RGB").save(portrait)
    steps = """
local t = ...
t.dt.preferences.write("emotag", "tag_on_import", "bool", true)
t.load_script()
t.emit_tags(t.import(t.photos))
"""
    report = darktable(steps, [portrait])

    assert emotion_tags(report.tags(portrait.name)) == {"Emotion", "Emotion|Happy"}
    assert not [m for (m,) in report.of("print_error") if "portrait" not in m], report.of("print_error")


def test_script_says_how_to_install_emotag_when_it_is_missing(album, darktable, tmp_path):
    without_emotag = [
        folder for folder in os.environ["PATH"].split(os.pathsep) if folder and not Path(folder, "emotag").exists()
    ]
    assert shutil.which("emotag", path=os.pathsep.join(without_emotag)) is None
    report = darktable(
        TAG_SELECTED, [album / HAPPY_PHOTO], env={"PATH": os.pathsep.join(without_emotag), "HOME": str(tmp_path)}
    )

    assert report.value("errors") == "1"
    messages = [m for (m,) in report.of("print")]
    assert any("emotag is not installed" in m and "pipx install emotag" in m for m in messages), messages
    assert emotion_tags(report.tags(HAPPY_PHOTO)) == set()


def lua_string(text: str) -> str:
    """A Lua string literal holding `text` (paths here are plain ASCII)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def shell_word(path: Path) -> str:
    return "'" + str(path).replace("'", "'\\''") + "'"


def test_closed_eyes_arrive_as_a_tag_of_their_own_both_ways(album, darktable):
    """Tagged by emotag first, or by the script inside darktable: `Eyes closed` is a tag, not under Emotion."""
    from tests.helpers import CLOSED, copy_shared

    first, second = copy_shared(CLOSED[:2], album)
    run_emotag("tag", str(first), check=True)
    report = darktable(TAG_SELECTED, [first, second, album / HAPPY_PHOTO])

    for photo in (first, second):
        assert "Eyes closed" in report.tags(photo.name), photo.name
        assert "Emotion|Eyes closed" not in report.tags(photo.name)
    assert "Eyes closed" not in report.tags(HAPPY_PHOTO)
