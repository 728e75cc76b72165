"""What a photographer chooses (issue 17): folders to leave alone, emotions never written, flat keywords, and
sidecars for every photo so that no original is modified."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image

from emotag.arrivals import is_candidate
from emotag.discovery import find_photos
from emotag.exclusions import LEFT_ALONE, Exclusions
from tests.helpers import HAPPY_PHOTO, NEUTRAL_PHOTO, SAMPLES, as_list, digest, exiftool_tags, json_lines, run_emotag

HAPPY = SAMPLES / HAPPY_PHOTO
NEUTRAL = SAMPLES / NEUTRAL_PHOTO
KEYWORDS = ("XMP-dc:Subject", "XMP-lr:HierarchicalSubject", "XMP-digiKam:TagsList", "IPTC:Keywords")


def grey(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 64), (90, 90, 90)).save(path)
    return path


# -- folders to leave alone -----------------------------------------------------------------------------------------


def nas_album(root: Path) -> Path:
    album = root / "Photos"
    for name in (
        "2019/IMG_1.jpg",
        "2019/@eaDir/IMG_1.jpg/SYNOPHOTO_THUMB_XL.jpg",  # Synology's thumbnails: real JPEGs
        "#recycle/deleted.jpg",
        "#snapshot/GMT+01_2024-01-01/IMG_1.jpg",
        "@Recycle/deleted.jpg",
        "$RECYCLE.BIN/S-1-5-21/deleted.jpg",
        "$Recycle.Bin/deleted.jpg",
        "Lightroom Catalog Previews.lrdata/0/preview.jpg",
        "Photos Library.photoslibrary/originals/0/IMG_2.jpg",
        ".thumbnails/normal/x.png",
        "lost+found/x.jpg",
        "2019/Rejects/IMG_3.jpg",
        "2019/tmp/IMG_4.jpg",
        "2020/tmp/IMG_5.jpg",
        "2020/IMG_6_edit.jpg",
        "2020/IMG_6.jpg",
    ):
        grey(album / name)
    return album


def test_nas_and_photo_manager_folders_are_left_alone_and_so_are_the_users_patterns(tmp_path):
    album = nas_album(tmp_path)
    found = sorted(str(p.relative_to(album)) for p in find_photos([album]))
    assert found == [
        "2019/IMG_1.jpg",
        "2019/Rejects/IMG_3.jpg",
        "2019/tmp/IMG_4.jpg",
        "2020/IMG_6.jpg",
        "2020/IMG_6_edit.jpg",
        "2020/tmp/IMG_5.jpg",
    ]
    chosen = Exclusions(["rejects", "2019/tmp", "*_edit.jpg"])  # names case-blind; a/b a path below the folder
    found = sorted(str(p.relative_to(album)) for p in find_photos([album], chosen))
    assert found == ["2019/IMG_1.jpg", "2020/IMG_6.jpg", "2020/tmp/IMG_5.jpg"]
    named = sorted(p.name for p in find_photos([album / "2019" / "@eaDir"]))
    assert named == ["SYNOPHOTO_THUMB_XL.jpg"], "a folder named on the command line is the user's choice"


def test_the_watcher_leaves_the_same_folders_alone(tmp_path):
    root = tmp_path / "Inbox"
    chosen = Exclusions(["Rejects"])
    assert is_candidate(root / "2019" / "IMG_1.jpg", [root], chosen)
    assert not is_candidate(root / "2019" / "@eaDir" / "IMG_1.jpg" / "SYNOPHOTO_THUMB_XL.jpg", [root], chosen)
    assert not is_candidate(root / "#recycle" / "x.jpg", [root])
    assert not is_candidate(root / "2019" / "rejects" / "x.jpg", [root], chosen)
    assert is_candidate(root / "2019" / "rejects" / "x.jpg", [root])


@pytest.mark.slow
def test_tag_top_and_the_config_leave_the_folders_alone(tmp_path, private_state):
    album = nas_album(tmp_path)
    (private_state / "config.toml").write_text('exclude = ["*_edit.jpg"]\n')
    tagged = run_emotag("tag", "--dry-run", "--json", "--exclude", "Rejects", "--exclude", "*/tmp", str(album))
    assert tagged.returncode == 0, tagged.stderr
    assert sorted(Path(r["path"]).name for r in json_lines(tagged.stdout)) == ["IMG_1.jpg", "IMG_6.jpg"]
    shutil.copy(HAPPY, album / "#recycle" / "happy.jpg")
    shutil.copy(HAPPY, album / "2020" / "happy_edit.jpg")
    ranked = run_emotag("top", "happy", "--json", str(album), check=True)
    assert json_lines(ranked.stdout) == [], "a photo in the recycle bin or one the config leaves out was ranked"


def test_the_readme_lists_the_folders_left_alone():
    readme = (SAMPLES.parent / "README.md").read_text(encoding="utf-8")
    missing = [name for name in LEFT_ALONE if f"`{name}`" not in readme]
    assert not missing, f"README.md does not name {missing}"


# -- what is written ------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_an_emotion_left_out_is_never_written_and_comes_back_when_chosen_again(tmp_path):
    photo = Path(shutil.copy(NEUTRAL, tmp_path))
    first = run_emotag("tag", "--json", "--leave-out", "Neutral", str(photo), check=True)
    assert json_lines(first.stdout)[0]["tags"] == []
    assert not {k: v for k, v in exiftool_tags(photo, *KEYWORDS).items() if v}, "Neutral was written"
    assert exiftool_tags(photo, "XMP-emotag:ModelVersion"), "the faces' scores are still recorded"
    shown = json_lines(run_emotag("show", "--json", str(photo), check=True).stdout)[0]
    assert shown["faces"][0]["emotion"] == "neutral" and shown["tags"] == []
    again = run_emotag("tag", "--json", str(photo), check=True)  # the choice changed: decided again
    assert json_lines(again.stdout)[0]["tags"] == ["Neutral"]
    assert as_list(exiftool_tags(photo, "XMP-dc:Subject")["XMP-dc:Subject"]) == ["Neutral"]


@pytest.mark.slow
def test_flat_keywords_have_no_parent(tmp_path, private_state):
    photo = Path(shutil.copy(HAPPY, tmp_path))
    (private_state / "config.toml").write_text("[tags]\nflat = true\n")
    run_emotag("tag", str(photo), check=True)
    written = exiftool_tags(photo, *KEYWORDS)
    assert {name: as_list(values) for name, values in written.items()} == {name: ["Happy"] for name in KEYWORDS}
    run_emotag("untag", str(photo), check=True)
    assert not exiftool_tags(photo, *KEYWORDS)


@pytest.mark.slow
def test_sidecars_for_every_photo_leave_the_originals_untouched(tmp_path):
    folder = tmp_path / "album"
    folder.mkdir()
    jpeg = Path(shutil.copy(HAPPY, folder / "IMG_1.JPG"))
    with Image.open(HAPPY) as image:
        image.save(folder / "scan.tif")
        image.save(folder / "screen.png")
    raw_pair = folder / "IMG_1.CR2"  # the JPEG's raw twin: its Lightroom sidecar would be IMG_1.xmp
    before = {path.name: digest(path) for path in folder.iterdir()}
    result = run_emotag("tag", "--json", "--sidecar-always", "--sidecar", "lightroom", str(jpeg), str(folder))
    assert result.returncode == 0, result.stderr
    assert {path.name: digest(path) for path in folder.iterdir() if path.name in before} == before
    assert sorted(p.name for p in folder.glob("*.xmp")) == ["IMG_1.JPG.xmp", "scan.tif.xmp", "screen.png.xmp"]
    assert not raw_pair.with_suffix(".xmp").exists()
    for sidecar in folder.glob("*.xmp"):
        assert as_list(exiftool_tags(sidecar, "XMP-lr:HierarchicalSubject")["XMP-lr:HierarchicalSubject"]) == [
            "Emotion",
            "Emotion|Happy",
        ]
    again = run_emotag("tag", "--json", "--sidecar-always", str(folder), check=True)
    assert {r["status"] for r in json_lines(again.stdout)} == {"unchanged"}
    shown = json_lines(run_emotag("show", "--json", str(jpeg), env={"EMOTAG_DATA_DIR": str(tmp_path / "s")}).stdout)
    assert shown[0]["tagged"] is False, "without the choice, show looks in the photo itself"
    run_emotag("untag", "--sidecar-always", str(folder), check=True)
    assert not list(folder.glob("*.xmp")), "untag removes the sidecars it made"
    assert {path.name: digest(path) for path in folder.iterdir()} == before


def test_the_command_lines_sidecar_choices_are_the_sidecar_styles():
    from emotag.cli import sidecar_option
    from emotag.config import SIDECAR_STYLES

    @sidecar_option
    def command(sidecar):
        pass

    assert tuple(command.__click_params__[0].type.choices) == SIDECAR_STYLES
