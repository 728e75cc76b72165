"""`emotag tag`, `untag`, `top`, `show` and `config`, run as a user runs them, on real photos, read back by ExifTool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import (
    HAPPY_PHOTO,
    KEYWORD_FIELDS,
    NEUTRAL_PHOTO,
    NO_FACE_PHOTOS,
    SAMPLES,
    as_list,
    digest,
    exiftool_tags,
    json_lines,
    pixels,
    run_emotag,
)

USER_VALUES = {
    "XMP-dc:Subject": ["Family", "Zürich", "東京"],
    "XMP-lr:HierarchicalSubject": ["Places|Zürich", "People|Family"],
    "XMP-digiKam:TagsList": ["Places/Zürich", "People/Family"],
    "IPTC:Keywords": ["Family", "Zürich", "東京"],
}


def set_user_metadata(photo: Path) -> None:
    """Keywords, a rating and a caption as the photographer's own software would have left them."""
    arguments = [
        "exiftool",
        "-overwrite_original",
        "-IPTC:CodedCharacterSet=UTF8",
        "-XMP-xmp:Rating=4",
        "-XMP-dc:Description=Summer at the lake",
    ]
    for field, values in USER_VALUES.items():
        arguments += [f"-{field}={value}" for value in values]
    subprocess.run([*arguments, "--", str(photo)], check=True, capture_output=True)


def everything_but_emotag(photo: Path) -> dict:
    """All metadata except emotag's own namespace and ExifTool's file-system view."""
    data = exiftool_tags(photo, "all")
    return {k: v for k, v in data.items() if not k.startswith(("XMP-emotag:", "System:", "ExifTool:"))}


@pytest.mark.slow
def test_tags_every_photo_and_writes_all_keyword_fields(album):
    before = {p.name: pixels(p) for p in album.iterdir()}
    result = run_emotag("tag", str(album), "--json", check=True)
    by_name = {Path(r["path"]).name: r for r in json_lines(result.stdout)}
    assert by_name[HAPPY_PHOTO]["status"] == "tagged"
    assert by_name[HAPPY_PHOTO]["tags"] == ["Happy"]
    face = by_name[HAPPY_PHOTO]["faces"][0]
    assert set(face) == {"box", "emotion", "confidence", "scores", "eyes", "eyes_closed"} and len(face["box"]) == 4
    assert face["eyes"] == "open" and 0 <= face["eyes_closed"] < 0.5
    assert face["emotion"] == "happy" and face["confidence"] > 0.8
    for name in NO_FACE_PHOTOS:
        assert by_name[name]["status"] == "no_faces"
    written = exiftool_tags(album / HAPPY_PHOTO, *KEYWORD_FIELDS, "IPTC:CodedCharacterSet", "XMP-emotag:all")
    assert as_list(written["XMP-dc:Subject"]) == ["Happy"]
    assert written["XMP-lr:HierarchicalSubject"] == ["Emotion", "Emotion|Happy"]
    assert written["XMP-digiKam:TagsList"] == ["Emotion", "Emotion/Happy"]
    assert as_list(written["IPTC:Keywords"]) == ["Happy"]
    assert written["IPTC:CodedCharacterSet"] == "UTF8"
    stored = as_list(written["XMP-emotag:Faces"])[0]
    assert stored["Emotion"] == "happy" and 0 < stored["X"] < 1 and 0 < stored["W"] < 1
    assert {"Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral"} <= set(stored)
    assert written["XMP-emotag:ModelVersion"]
    for photo in album.iterdir():
        assert (pixels(photo) == before[photo.name]).all(), f"pixels of {photo.name} changed"
    assert "4 photos" in result.stderr and "2 tagged" in result.stderr


@pytest.mark.slow
def test_keeps_the_users_own_metadata_in_order_and_untag_restores_it_exactly(album):
    photo = album / HAPPY_PHOTO
    set_user_metadata(photo)
    original = everything_but_emotag(photo)

    run_emotag("tag", str(photo), check=True)
    tagged = exiftool_tags(photo, *KEYWORD_FIELDS, "XMP-xmp:Rating", "XMP-dc:Description")
    for field, values in USER_VALUES.items():
        assert tagged[field][: len(values)] == values, f"{field}: the user's values moved"
    assert tagged["XMP-dc:Subject"][3:] == ["Happy"]
    assert tagged["XMP-lr:HierarchicalSubject"][2:] == ["Emotion", "Emotion|Happy"]
    assert tagged["XMP-xmp:Rating"] == 4 and tagged["XMP-dc:Description"] == "Summer at the lake"

    forced = run_emotag("tag", str(photo), "--force", "--json", check=True)
    assert json_lines(forced.stdout)[0]["status"] == "tagged"
    assert exiftool_tags(photo, *KEYWORD_FIELDS) == {k: tagged[k] for k in KEYWORD_FIELDS}, "a re-tag doubled tags"

    run_emotag("untag", str(photo), check=True)
    assert everything_but_emotag(photo) == original
    assert not exiftool_tags(photo, "XMP-emotag:all")


@pytest.mark.slow
def test_untag_removes_fields_emotag_created(album):
    photo = album / NEUTRAL_PHOTO
    run_emotag("tag", str(photo), "--min-confidence", "0", check=True)
    assert exiftool_tags(photo, "XMP-dc:Subject")
    run_emotag("untag", str(photo), check=True)
    after = everything_but_emotag(photo)
    assert not {k: v for k, v in after.items() if k.startswith("XMP-") and k != "XMP-x:XMPToolkit"}
    assert "IPTC:Keywords" not in after and "IPTC:CodedCharacterSet" not in after


@pytest.mark.slow
def test_second_run_changes_nothing_even_without_the_ledger(album, tmp_path):
    run_emotag("tag", str(album), check=True)
    digests = {p.name: digest(p) for p in album.iterdir()}
    again = run_emotag("tag", str(album), "--json", check=True)
    assert {r["status"] for r in json_lines(again.stdout)} == {"unchanged"}
    assert {Path(r["path"]).name: r["tags"] for r in json_lines(again.stdout)}[HAPPY_PHOTO] == ["Happy"]
    fresh_state = run_emotag("tag", str(album), "--json", check=True, env={"EMOTAG_DATA_DIR": str(tmp_path / "new")})
    statuses = {Path(r["path"]).name: (r["status"], r["tags"]) for r in json_lines(fresh_state.stdout)}
    assert statuses[HAPPY_PHOTO] == ("unchanged", ["Happy"])
    assert statuses[NEUTRAL_PHOTO][0] == "unchanged"
    assert {p.name: digest(p) for p in album.iterdir()} == digests


@pytest.mark.slow
def test_a_new_threshold_redecides_the_tags_from_the_stored_scores(album):
    photo = album / NEUTRAL_PHOTO  # a face read with a confidence below 1 (the happy sample's smile reads 1.0)
    first = json_lines(run_emotag("tag", str(photo), "--json", check=True).stdout)[0]
    assert first["tags"] == ["Neutral"] and first["faces"][0]["confidence"] < 0.99
    strict = f"{first['faces'][0]['confidence'] + 0.01:.2f}"
    stricter = json_lines(run_emotag("tag", str(photo), "--min-confidence", strict, "--json", check=True).stdout)[0]
    assert (stricter["status"], stricter["tags"], stricter["removed"]) == ("updated", [], ["Neutral"])
    assert "XMP-dc:Subject" not in exiftool_tags(photo, "XMP-dc:Subject")
    assert exiftool_tags(photo, "XMP-emotag:Faces")["XMP-emotag:Faces"], "the scores must stay for later"
    again = json_lines(run_emotag("tag", str(photo), "--min-confidence", strict, "--json", check=True).stdout)[0]
    assert again["status"] == "unchanged"
    back = json_lines(run_emotag("tag", str(photo), "--json", check=True).stdout)[0]
    assert back["tags"] == ["Neutral"] and (back["status"], back["added"]) == ("updated", ["Neutral"])
    assert as_list(exiftool_tags(photo, "XMP-dc:Subject")["XMP-dc:Subject"]) == ["Neutral"]


@pytest.mark.slow
def test_dry_run_writes_nothing(album):
    digests = {p.name: digest(p) for p in album.iterdir()}
    result = run_emotag("tag", str(album), "--dry-run", "--json", check=True)
    assert any(r["tags"] == ["Happy"] for r in json_lines(result.stdout))
    assert {p.name: digest(p) for p in album.iterdir()} == digests
    assert "nothing written" in result.stderr


@pytest.mark.slow
def test_high_threshold_tags_nothing_but_still_records_the_faces(album):
    photo = album / HAPPY_PHOTO
    result = run_emotag("tag", str(photo), "--min-confidence", "1", "--json", check=True)
    assert json_lines(result.stdout)[0]["tags"] == []
    written = exiftool_tags(photo, "XMP-dc:Subject", "XMP-emotag:Faces")
    assert "XMP-dc:Subject" not in written and written["XMP-emotag:Faces"]


@pytest.mark.slow
def test_file_names_are_data_never_options_or_code(album, tmp_path):
    names = ["-rf photo.jpg", 'it\'s "quoted" $(touch pwned).jpg', "Ünïcødé 東京 photo.jpg", "-"]
    for name in [*names, "line\nbreak.jpg"]:
        shutil.copy(album / HAPPY_PHOTO, album / name)
    result = run_emotag("tag", str(album), "--json")
    by_name = {Path(r["path"]).name: r for r in json_lines(result.stdout)}
    for name in names[:3]:
        assert by_name[name]["status"] == "tagged", by_name[name]
        assert as_list(exiftool_tags(album / name, "XMP-dc:Subject")["XMP-dc:Subject"]) == ["Happy"]
    assert not list(Path.cwd().glob("pwned")) and not (album / "pwned").exists()
    assert "-" not in by_name, "a file called '-' is not a photo and was read anyway"
    refused = by_name["line\nbreak.jpg"]
    assert refused["status"] == "error" and "line break" in refused["error"]
    assert result.returncode == 1 and [r for r in by_name.values() if r["status"] == "error"] == [refused]
    assert "line\\nbreak.jpg: file name contains a line break" in result.stderr, "the error must stay on one line"


@pytest.mark.slow
def test_bad_files_get_one_line_each_and_the_rest_is_tagged(album):
    (album / "empty.jpg").write_bytes(b"")
    (album / "truncated.jpg").write_bytes((album / HAPPY_PHOTO).read_bytes()[:2000])
    (album / "noise.png").write_bytes(bytes(range(256)) * 40)
    (album / "folder.jpg").mkdir()
    result = run_emotag("tag", str(album), "--json")  # a path mistyped on the command line: test_clean_failures
    assert result.returncode == 1
    by_name = {Path(r["path"]).name: r for r in json_lines(result.stdout)}
    assert by_name[HAPPY_PHOTO]["status"] == "tagged"
    for name in ("empty.jpg", "truncated.jpg", "noise.png"):
        assert by_name[name]["status"] == "error" and by_name[name]["error"]
        errors = [line for line in result.stderr.splitlines() if name in line]
        assert len(errors) == 1, f"{name}: {errors}"
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_usage_errors_exit_2():
    assert run_emotag("tag").returncode == 2
    assert run_emotag("tag", ".", "--min-confidence", "7").returncode == 2
    assert run_emotag("top", "smug", ".").returncode == 2


@pytest.mark.slow
def test_top_picks_the_happiest_and_makes_an_album_and_a_contact_sheet(album, tmp_path):
    run_emotag("tag", str(album / NEUTRAL_PHOTO), check=True)  # one from tags, one read now
    sheet = tmp_path / "happy.html"
    result = run_emotag(
        "top",
        "happy",
        str(album),
        "-n",
        "2",
        "--json",
        "--copy-to",
        str(tmp_path / "best"),
        "--html",
        str(sheet),
        check=True,
    )
    ranked = json_lines(result.stdout)
    assert [Path(r["path"]).name for r in ranked] == [HAPPY_PHOTO, NEUTRAL_PHOTO]
    assert ranked[0]["score"] > ranked[1]["score"]
    album_files = sorted(p.name for p in (tmp_path / "best").iterdir() if not p.name.startswith("."))  # + manifest
    assert album_files == [f"001_{HAPPY_PHOTO}", f"002_{NEUTRAL_PHOTO}"]
    page = sheet.read_text()
    assert page.count("data:image/jpeg;base64,") == 2 and 'class="box"' in page
    assert not exiftool_tags(album / HAPPY_PHOTO, "XMP-emotag:all"), "top wrote to an untagged photo"


@pytest.mark.slow
def test_show_tells_faces_boxes_scores_and_tags(album):
    photo = album / HAPPY_PHOTO
    fresh = json_lines(run_emotag("show", str(photo), "--json", check=True).stdout)[0]
    assert fresh["tagged"] is False and fresh["faces"][0]["emotion"] == "happy"
    run_emotag("tag", str(photo), check=True)
    stored = json_lines(run_emotag("show", str(photo), "--json", check=True).stdout)[0]
    assert stored["tagged"] is True and stored["tags"] == ["Happy"]
    assert all(abs(a - b) <= 2 for a, b in zip(stored["faces"][0]["box"], fresh["faces"][0]["box"]))
    text = run_emotag("show", str(photo), check=True).stdout
    assert "happy" in text and "tags: Happy" in text


@pytest.mark.slow
def test_config_file_changes_the_keywords(album, private_state):
    (private_state / "config.toml").write_text(
        'min_confidence = 0.3\n[tags]\nroot = "Mood"\n[tags.labels]\nhappy = "Fröhlich"\n'
    )
    shown = run_emotag("config", check=True).stdout
    assert "min_confidence = 0.3" in shown and 'root = "Mood"' in shown
    run_emotag("tag", str(album / HAPPY_PHOTO), check=True)
    written = exiftool_tags(album / HAPPY_PHOTO, "XMP-lr:HierarchicalSubject", "IPTC:Keywords")
    assert written["XMP-lr:HierarchicalSubject"] == ["Mood", "Mood|Fröhlich"]
    assert as_list(written["IPTC:Keywords"]) == ["Fröhlich"]


@pytest.mark.slow
def test_thresholds_per_emotion_from_the_config_and_one_for_all_from_the_command_line(album, private_state):
    photo = album / HAPPY_PHOTO
    (private_state / "config.toml").write_text("[thresholds]\nhappy = 1.0\n")
    shown = run_emotag("config", check=True).stdout
    assert "[thresholds]" in shown and "happy = 1" in shown and "# min_confidence" in shown
    strict = json_lines(run_emotag("tag", str(photo), "--json", check=True).stdout)[0]
    assert strict["tags"] == [] and strict["faces"][0]["emotion"] == "happy"
    record = exiftool_tags(photo, "XMP-emotag:Thresholds")["XMP-emotag:Thresholds"]
    assert "happy=1 " in record
    loose = json_lines(run_emotag("tag", str(photo), "--json", "--min-confidence", "0.2", check=True).stdout)[0]
    assert loose["tags"] == ["Happy"] and loose["status"] == "updated"  # re-decided from its stored scores
    (private_state / "config.toml").write_text("[thresholds]\nhappy = 2\n")
    result = run_emotag("tag", str(photo))
    assert result.returncode == 2 and "happy" in result.stderr and "between 0 and 1" in result.stderr
    (private_state / "config.toml").write_text("[thresholds]\ncheerful = 0.5\n")
    assert "unknown emotion 'cheerful'" in run_emotag("config").stderr


@pytest.mark.slow
def test_broken_config_is_a_usage_error(private_state):
    (private_state / "config.toml").write_text("min_confidence = 'high'\n")
    result = run_emotag("config")
    assert result.returncode == 2 and "min_confidence" in result.stderr


@pytest.mark.slow
def test_worker_processes_tag_exactly_as_one_process_does(tmp_path):
    """`--jobs 2` (two worker processes, a model and an ExifTool each) against `--jobs 1`, photo by photo."""
    folders = {}
    for jobs in ("1", "2"):
        folder = tmp_path / f"jobs{jobs}"
        folder.mkdir()
        for i in range(5):
            for sample in (HAPPY_PHOTO, NEUTRAL_PHOTO, *NO_FACE_PHOTOS):
                shutil.copy2(SAMPLES / sample, folder / f"{i}-{sample}")
        result = run_emotag("tag", "--jobs", jobs, "--json", str(folder), check=True)
        folders[jobs] = {Path(r["path"]).name: (r["status"], r["tags"]) for r in json_lines(result.stdout)}
        assert len(folders[jobs]) == 20
    assert folders["1"] == folders["2"]
    for name, (status, tags) in folders["2"].items():
        written = exiftool_tags(tmp_path / "jobs2" / name, "XMP-dc:Subject", "XMP-emotag:ModelVersion")
        assert as_list(written.get("XMP-dc:Subject", [])) == tags and (status == "tagged") == bool(written)


def keywords_as_written(photo: Path) -> dict[str, list[str]]:
    """The keyword fields exactly as stored, through ExifTool's XML output (its JSON rounds numbers)."""
    import xml.etree.ElementTree as ElementTree

    output = subprocess.run(
        ["exiftool", "-X", "-b", *[f"-{f}" for f in KEYWORD_FIELDS], "--", str(photo)],
        capture_output=True,
        check=True,
    ).stdout
    rdf = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
    fields = {}
    for element in ElementTree.fromstring(output).find(f"{rdf}Description"):
        group = element.tag[1:].split("}")[0].rstrip("/").split("/")[-2]  # .../XMP/XMP-dc/1.0/ -> XMP-dc
        items = element.findall(f".//{rdf}li")
        fields[f"{group}:{element.tag.split('}')[1]}"] = [li.text or "" for li in items] or [element.text or ""]
    return fields


@pytest.mark.slow
def test_keywords_that_look_like_numbers_or_carry_spaces_come_back_exactly(album):
    photo = album / HAPPY_PHOTO
    odd = ["1.50", "1e3", "-0", " leading space", "trailing space ", "tab\there", "a=b", "${Artist}", "#1", "x,y|z"]
    subprocess.run(
        ["exiftool", "-q", "-overwrite_original", "-IPTC:CodedCharacterSet=UTF8"]
        + [f"-{field}={value}" for field in ("XMP-dc:Subject", "IPTC:Keywords") for value in odd]
        + ["--", str(photo)],
        check=True,
    )
    original = keywords_as_written(photo)
    assert original["XMP-dc:Subject"] == odd, "the test photo must hold the odd keywords as given"

    run_emotag("tag", str(photo), "--jobs", "1", check=True)
    tagged = keywords_as_written(photo)
    assert tagged["XMP-dc:Subject"] == [*odd, "Happy"] and tagged["IPTC:Keywords"] == [*odd, "Happy"]
    run_emotag("untag", str(photo), check=True)
    assert keywords_as_written(photo) == original


def xmp_with_subject(values: list[str]) -> str:
    items = "".join(f"<rdf:li>{value}</rdf:li>" for value in values)
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f"<dc:subject><rdf:Bag>{items}</rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>"
    )


@pytest.mark.slow
def test_keywords_exiftool_cannot_carry_stop_the_write_and_touch_nothing(album):
    """A keyword with a line break would be read as further ExifTool arguments (here: delete all metadata, and
    tag another file); an empty one would delete the values before it; "True" comes back as "true"; a
    70-byte IPTC keyword would be cut to 64. Each photo is left exactly as it was, with a one-line error."""
    bystander = album / NEUTRAL_PHOTO
    cases = {
        "line-break.jpg": ["-Artist=Jane", f"-XMP-dc:Subject=trip\n-all=\n{bystander}"],
        "capitals.jpg": ["-XMP-dc:Subject=True"],
        "long-iptc.jpg": ["-m", "-IPTC:Keywords=" + "k" * 70],
    }
    for name, arguments in cases.items():
        shutil.copy(album / HAPPY_PHOTO, album / name)
        subprocess.run(["exiftool", "-q", "-overwrite_original", *arguments, "--", str(album / name)], check=True)
    empty_item = album / "empty-item.jpg"
    (album / "empty-item.xmp").write_text(xmp_with_subject(["first", "", "third"]))
    shutil.copy(album / HAPPY_PHOTO, empty_item)
    xmp = f"-XMP<={album / 'empty-item.xmp'}"
    subprocess.run(["exiftool", "-q", "-overwrite_original", xmp, "--", str(empty_item)], check=True)
    assert keywords_as_written(empty_item)["XMP-dc:Subject"] == ["first", "", "third"]
    photos = [album / name for name in (*cases, "empty-item.jpg")]
    before = {photo: digest(photo) for photo in [*photos, bystander]}

    result = run_emotag("tag", "--jobs", "1", *map(str, photos))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    for photo in photos:
        errors = [line for line in result.stderr.splitlines() if line.startswith(f"emotag: {photo}: ")]
        assert len(errors) == 1 and "left unchanged" in errors[0], (photo.name, result.stderr)
    assert {photo: digest(photo) for photo in [*photos, bystander]} == before


@pytest.mark.slow
def test_a_label_latin1_iptc_cannot_spell_leaves_the_photo_unchanged_on_the_next_run(album, private_state):
    (private_state / "config.toml").write_text('[tags.labels]\nhappy = "快乐"\n')
    photo = album / HAPPY_PHOTO
    latin1 = ["exiftool", "-q", "-overwrite_original", "-charset", "iptc=latin1", "-IPTC:City=München"]
    subprocess.run([*latin1, "--", str(photo)], check=True)
    run_emotag("tag", str(photo), check=True)
    assert exiftool_tags(photo, "XMP-dc:Subject")["XMP-dc:Subject"] in ("快乐", ["快乐"])
    for ledger in private_state.glob("ledger.sqlite*"):
        ledger.unlink()  # as on another computer: the photo's own record alone must say it is done
    again = run_emotag("tag", "--json", str(photo), check=True)
    assert json_lines(again.stdout)[0]["status"] == "unchanged"
