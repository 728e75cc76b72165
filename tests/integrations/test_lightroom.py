"""The Lightroom Classic plug-in, checked with luac 5.1 and run under plain Lua 5.1 with a stand-in for Lightroom.

Lightroom itself does not run here. The stand-in's LrTasks.execute runs the real command line, so real emotag
tags real copies of the sample photos; the stand-in catalog records the keywords the plug-in adds.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers import HAPPY_PHOTO, NO_FACE_PHOTOS, exiftool_tags, run_emotag
from tests.integrations.conftest import LIGHTROOM_PLUGIN

pytestmark = pytest.mark.slow  # real darktable, digiKam and Lightroom stand-ins, and `emotag` processes

MENU_ITEMS = {
    "Tag emotions of selected photos": "TagSelected.lua",
    "Tag emotions of selected photos (dry run)": "TagSelectedDryRun.lua",
    "Select the top N by emotion...": "SelectTop.lua",
}

SELECT_ALL_AND_RUN = """
local t = ...
t.select(t.photos)
t.menu("{menu}")
t.emit_keywords()
"""


def keywords(report, photo: Path) -> set[str]:
    return report.tags(photo.name, kind="keyword")


def written_keywords(photo: Path) -> set[str]:
    """The hierarchical keywords in the file, as Lightroom reads them (lr:hierarchicalSubject)."""
    value = exiftool_tags(photo, "XMP-lr:HierarchicalSubject").get("XMP-lr:HierarchicalSubject", [])
    return {value} if isinstance(value, str) else set(value)


def fingerprint(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_every_plugin_file_compiles_as_lua_51(lua51):
    files = sorted(LIGHTROOM_PLUGIN.glob("*.lua"))
    assert len(files) >= 6
    for file in files:
        checked = subprocess.run([lua51[1], "-p", str(file)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr


def test_info_lua_declares_the_library_menu_items(lua51):
    listing = subprocess.run(
        [
            lua51[0],
            "-e",
            f"local info = dofile({json.dumps(str(LIGHTROOM_PLUGIN / 'Info.lua'))})"
            " for _, item in ipairs(info.LrLibraryMenuItems) do print(item.title .. '\\t' .. item.file) end"
            " print(info.LrToolkitIdentifier)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert dict(line.split("\t") for line in listing[:-1]) == MENU_ITEMS
    assert listing[-1] == "org.emotag.lightroom"
    for file in MENU_ITEMS.values():
        assert (LIGHTROOM_PLUGIN / file).is_file()


def test_json_reader_reads_what_emotag_writes(lightroom, tmp_path):
    """Paths with quotes, backslashes, accents, emoji and line breaks survive, escaped or not."""
    record = {"path": '/photos/"Ünïcode" \\ 😀 ok\nline\t.jpg', "score": -1.5e-3, "tags": [], "ok": True, "no": False}
    lines = [json.dumps(record, ensure_ascii=False), json.dumps(record, ensure_ascii=True), "not json"]
    (tmp_path / "lines.jsonl").write_text("\n".join(lines), encoding="utf-8")
    steps = f"""
local t = ...
local EmotagJson = require "EmotagJson"
local file = assert(io.open({json.dumps(str(tmp_path / "lines.jsonl"))}, "rb"))
local objects, bad = EmotagJson.decodeLines(file:read("*a"))
file:close()
t.emit("value", "bad", bad)
for i, object in ipairs(objects) do
  local hex = string.gsub(object.path, ".", function(c) return string.format("%02x", string.byte(c)) end)
  t.emit("value", "path" .. i, hex)
  t.emit("value", "rest" .. i, object.score, #object.tags, tostring(object.ok), tostring(object.no))
end
"""
    report = lightroom(steps)

    assert report.value("bad") == "1"
    for i in (1, 2):
        assert bytes.fromhex(report.value(f"path{i}")).decode("utf-8") == record["path"]
        assert [line for line in report.of("value") if line[0] == f"rest{i}"][0][1:] == [
            "-0.0015",
            "0",
            "true",
            "false",
        ]


def test_tag_selected_adds_keywords_under_emotion_and_writes_the_files(album, lightroom):
    photos = sorted(album.glob("*.jpg"))
    report = lightroom(SELECT_ALL_AND_RUN.format(menu="TagSelected.lua"), photos)

    assert keywords(report, album / HAPPY_PHOTO) >= {"Emotion|Happy"}
    for name in NO_FACE_PHOTOS:
        assert keywords(report, album / name) == set()
    for photo in photos:
        in_file = {k for k in written_keywords(photo) if k != "Emotion"}
        assert keywords(report, photo) == in_file, f"catalog and {photo.name} disagree"
    assert report.of("write_access") == [["Add emotion keywords"]]
    tag_runs = [line for (line,) in report.of("execute") if " 'tag' " in line]
    assert len(tag_runs) == 1 and "'--sidecar' 'lightroom'" in tag_runs[0]
    assert "--min-confidence" not in tag_runs[0]  # by default each emotion's own threshold, from the model card
    title, text, kind = report.of("message")[-1]
    tagged = sum(1 for photo in photos if keywords(report, photo))
    assert (title, kind) == ("emotag", "info")
    assert text.startswith(f"4 photos: {tagged} got emotion keywords")
    assert "Read Metadata from Files" in text


def test_dry_run_shows_what_it_would_do_and_changes_nothing(album, lightroom):
    before = fingerprint(album)
    report = lightroom(SELECT_ALL_AND_RUN.format(menu="TagSelectedDryRun.lua"), sorted(album.glob("*.jpg")))

    assert fingerprint(album) == before
    assert report.of("keyword") == [] and report.of("write_access") == []
    title, text, _ = report.of("message")[-1]
    assert title == "emotag (dry run)"
    assert f"{HAPPY_PHOTO}: Emotion > Happy" in text
    assert "Dry run: nothing was written" in text


def test_photos_tagged_outside_lightroom_get_their_keywords(album, lightroom):
    """`emotag tag` ran first (its tags are in the file): the plug-in still puts them in the catalog."""
    photo = album / HAPPY_PHOTO
    run_emotag("tag", str(photo), check=True)
    steps = SELECT_ALL_AND_RUN.format(menu="TagSelected.lua")
    report = lightroom(steps, [photo])

    assert keywords(report, photo) == {"Emotion|Happy"}
    assert any(" 'show' " in line for (line,) in report.of("execute"))


def test_select_top_selects_the_happiest_photo(album, lightroom):
    photos = sorted(album.glob("*.jpg"))
    before = fingerprint(album)
    steps = """
local t = ...
t.answers.emotion = "happy"
t.answers.count = 1
t.menu("SelectTop.lua")
t.emit_selection()
"""
    report = lightroom(steps, photos)

    assert report.of("selected") == [[HAPPY_PHOTO]]
    assert report.of("active") == [[HAPPY_PHOTO]]
    assert report.of("bezel") == [["Selected the 1 most happy photos"]]
    assert fingerprint(album) == before, "selecting must not write to the photos"


def test_plugin_says_how_to_install_emotag_when_it_is_missing(album, lightroom, tmp_path):
    steps = """
local t = ...
t.prefs.emotagPath = "/nonexistent/bin/emotag"
t.select(t.photos)
t.menu("TagSelected.lua")
t.emit_keywords()
"""
    report = lightroom(steps, [album / HAPPY_PHOTO])

    assert report.of("keyword") == []
    title, text, kind = report.of("message")[-1]
    assert (title, kind) == ("emotag is not installed or not found", "critical")
    assert "pipx install emotag" in text and "Plug-in Manager" in text


def test_closed_eyes_get_their_own_keyword_not_one_under_emotion(album, lightroom):
    """A photo with closed eyes gets `Eyes closed` in the catalog and in the file, beside the emotion keywords."""
    from tests.helpers import CLOSED, copy_shared

    (closed,) = copy_shared(CLOSED[:1], album)
    photos = [album / HAPPY_PHOTO, closed]
    report = lightroom(SELECT_ALL_AND_RUN.format(menu="TagSelected.lua"), photos)

    assert "Eyes closed" in keywords(report, closed)
    assert not any(k.endswith("|Eyes closed") for k in keywords(report, closed))
    assert "Eyes closed" not in keywords(report, album / HAPPY_PHOTO)
    for photo in photos:
        in_file = {k for k in written_keywords(photo) if k != "Emotion"}
        assert keywords(report, photo) == in_file, f"catalog and {photo.name} disagree"
