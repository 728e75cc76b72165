"""Eyes open or closed: the reading, the keyword (every rule of the emotion keywords), `top --eyes-open`.

Real photos of closed eyes come from ../shared/data/eyes (copied at test time, never committed): those tests
skip where it is missing. The eye reading was fitted on that very folder, so these tests check that the reading
reaches every place a face goes; how well it reads unseen faces is `bench/eyes_accuracy.py`'s (README).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from emotag.eyes import MIN_FACE, EyeReader, turned_away
from emotag.faces import FaceFinder
from emotag.photos import read_photo
from emotag.picker import Pick, best_first
from emotag.pipeline import Settings
from emotag.results import ReadFace
from tests.helpers import (
    CLOSED,
    HAPPY_PHOTO,
    KEYWORD_FIELDS,
    NEUTRAL_PHOTO,
    OPEN,
    SAMPLES,
    as_list,
    copy_shared,
    digest,
    exiftool_tags,
    json_lines,
    keyword_fields,
    run_emotag,
)

SQUEEZED_LAUGH = "closed_b4560177b6.jpg"  # laughing, eyes shut: happy 1.00, read as open at a closed score of 0.34
OPEN_SMILES = ("open_1cb8fe85ba.jpg", "open_0bebc27d88.jpg")  # happy 0.99, closed scores under 0.01


def test_the_sample_portraits_have_their_eyes_open():
    finder, reader = FaceFinder(), EyeReader()
    for name in (HAPPY_PHOTO, NEUTRAL_PHOTO):
        photo = read_photo(SAMPLES / name)
        (face,) = finder.find(photo)
        eyes = reader.read_face(photo, face)
        assert eyes is not None and eyes.state == "open" and eyes.closed < 0.1, name


def test_a_face_too_small_or_turned_away_cannot_be_told():
    finder, reader = FaceFinder(), EyeReader()
    photo = read_photo(SAMPLES / HAPPY_PHOTO)
    (face,) = finder.find(photo)
    box = tuple(v * photo.scale for v in face.box)
    assert reader.read(photo.grey, box) is not None
    assert reader.read(photo.grey, (*box[:2], MIN_FACE - 1, MIN_FACE - 1)) is None
    points = reader.landmarks(photo.grey, box)
    assert not turned_away(points)
    turned = points.copy()
    turned[:8] = turned[30] + (turned[:8] - turned[30]) * 0.2  # the jaw's near side seen edge on
    assert turned_away(turned)


def test_closed_eyes_are_read_as_closed_and_open_as_open(tmp_path):
    finder, reader = FaceFinder(), EyeReader()
    for photo_path in copy_shared(CLOSED + OPEN, tmp_path):
        photo = read_photo(photo_path)
        (face,) = finder.find(photo)
        eyes = reader.read_face(photo, face)
        assert eyes is not None and eyes.state == photo_path.name.split("_")[0], photo_path.name


def test_settings_fingerprint_changes_with_the_eye_reading_and_its_keyword():
    """The ledger looks at a photo again when what decides its keywords changed: so once after an upgrade."""
    from emotag.tags import TagScheme

    plain = Settings().fingerprint()
    assert '"eyes_version": "1"' in plain and "Eyes closed" in plain
    assert Settings(scheme=TagScheme(eyes_closed="Blinks")).fingerprint() != plain


@pytest.mark.slow
def test_closed_eyes_get_their_keyword_in_every_field_beside_the_users_and_untag_restores(tmp_path):
    closed, opened = copy_shared((CLOSED[0], OPEN[0]), tmp_path / "album")
    subprocess.run(
        [
            "exiftool",
            "-q",
            "-overwrite_original",
            "-XMP-dc:Subject=Mine",
            "-XMP-lr:HierarchicalSubject=Trips|Lake",
            "-IPTC:Keywords=Mine",
            "--",
            str(closed),
        ],
        check=True,
    )
    before = keyword_fields(closed)
    results = {
        Path(r["path"]).name: r
        for r in json_lines(run_emotag("tag", str(tmp_path / "album"), "--json", check=True).stdout)
    }
    face = results[closed.name]["faces"][0]
    assert face["eyes"] == "closed" and 0.5 <= face["eyes_closed"] <= 1
    assert results[closed.name]["eyes_tag"] == "Eyes closed"
    assert "Eyes closed" not in results[closed.name]["tags"]  # the emotion tags are the emotions'
    assert results[opened.name]["faces"][0]["eyes"] == "open" and results[opened.name]["eyes_tag"] is None
    fields = keyword_fields(closed)
    assert fields["XMP-dc:Subject"][:1] == ["Mine"] and "Eyes closed" in fields["XMP-dc:Subject"]
    assert fields["XMP-lr:HierarchicalSubject"][0] == "Trips|Lake"
    assert "Eyes closed" in fields["XMP-lr:HierarchicalSubject"]
    assert not any(value.endswith("|Eyes closed") for value in fields["XMP-lr:HierarchicalSubject"])
    assert "Eyes closed" in fields["XMP-digiKam:TagsList"] and "Eyes closed" in fields["IPTC:Keywords"]
    assert not any("Eyes" in value for values in keyword_fields(opened).values() for value in values)
    record = exiftool_tags(closed, "XMP-emotag:all", options=("-struct",))
    assert record["XMP-emotag:EyesVersion"] == "1" or record["XMP-emotag:EyesVersion"] == 1
    assert record["XMP-emotag:Faces"][0]["Eyes"] == "closed"

    unchanged = digest(closed)
    again = json_lines(run_emotag("tag", str(closed), "--json", check=True).stdout)[0]
    assert again["status"] == "unchanged" and again["eyes_tag"] == "Eyes closed"
    assert digest(closed) == unchanged  # a re-run is a no-op

    shown = run_emotag("show", str(closed), check=True).stdout
    assert "eyes closed" in shown and "Eyes closed" in shown

    run_emotag("untag", str(closed), check=True)
    assert keyword_fields(closed) == before
    assert not exiftool_tags(closed, "XMP-emotag:all")


@pytest.mark.slow
def test_the_closed_eyes_keyword_is_configurable_and_can_be_turned_off(tmp_path, private_state):
    (closed,) = copy_shared((CLOSED[1],), tmp_path / "album")
    config = private_state / "config.toml"
    config.write_text('[tags]\neyes_closed = "Culling|Eyes closed"\n', encoding="utf-8")
    result = json_lines(run_emotag("tag", str(closed), "--json", check=True).stdout)[0]
    assert result["eyes_tag"] == "Culling|Eyes closed"
    fields = keyword_fields(closed)
    assert {"Culling", "Culling|Eyes closed"} <= set(fields["XMP-lr:HierarchicalSubject"])
    assert {"Culling", "Culling/Eyes closed"} <= set(fields["XMP-digiKam:TagsList"])
    assert "Eyes closed" in fields["XMP-dc:Subject"] and "Culling" not in fields["XMP-dc:Subject"]
    assert 'eyes_closed = "Culling|Eyes closed"' in run_emotag("config", check=True).stdout

    config.write_text('[tags]\neyes_closed = ""\n', encoding="utf-8")
    result = json_lines(run_emotag("tag", str(closed), "--json", check=True).stdout)[0]
    assert result["status"] in ("tagged", "updated") and result["eyes_tag"] is None, result
    assert not any("Eyes" in value for values in keyword_fields(closed).values() for value in values)

    config.write_text('[tags]\neyes_closed = "Culling/Eyes"\n', encoding="utf-8")
    refused = run_emotag("tag", str(closed))
    assert refused.returncode == 2 and "eyes_closed" in refused.stderr


@pytest.mark.slow
def test_photos_tagged_before_eyes_were_read_get_their_eyes_read_once(tmp_path, private_state):
    (closed,) = copy_shared((CLOSED[2],), tmp_path / "album")
    config = private_state / "config.toml"
    config.write_text('[tags]\neyes_closed = ""\n', encoding="utf-8")
    run_emotag("tag", str(closed), check=True)
    config.unlink()
    # what an earlier emotag left: its keywords, but no eye reading's version and faces without eyes
    faces = exiftool_tags(closed, "XMP-emotag:Faces", options=("-struct",))["XMP-emotag:Faces"]
    older = ",".join(
        "{" + ",".join(f"{k}={v}" for k, v in face.items() if k not in ("Eyes", "EyesClosed")) + "}" for face in faces
    )
    subprocess.run(
        [
            "exiftool",
            "-config",
            str(Path("emotag/emotag.config").resolve()),
            "-q",
            "-overwrite_original",
            "-XMP-emotag:EyesVersion=",
            f"-XMP-emotag:Faces=[{older}]",
            "--",
            str(closed),
        ],
        check=True,
    )
    assert "Eyes" not in exiftool_tags(closed, "XMP-emotag:Faces", options=("-struct",))["XMP-emotag:Faces"][0]
    first = json_lines(run_emotag("tag", str(closed), "--json", check=True).stdout)[0]
    assert first["status"] == "tagged" and first["faces"] and first["faces"][0]["eyes"] == "closed"
    assert first["eyes_tag"] == "Eyes closed" and "Eyes closed" in keyword_fields(closed)["XMP-dc:Subject"]
    second = json_lines(run_emotag("tag", str(closed), "--json", check=True).stdout)[0]
    assert second["status"] == "unchanged"


@pytest.mark.slow
def test_top_eyes_open_leaves_out_photos_with_closed_eyes(tmp_path):
    album = tmp_path / "album"
    copy_shared(CLOSED + OPEN, album)
    shutil.copy(SAMPLES / HAPPY_PHOTO, album)
    every = [
        Path(r["path"]).name
        for r in json_lines(run_emotag("top", "neutral", str(album), "-n", "20", "--json", check=True).stdout)
    ]
    assert set(CLOSED) <= set(every)  # untagged: read on the fly
    kept = [
        Path(r["path"]).name
        for r in json_lines(
            run_emotag("top", "neutral", str(album), "-n", "20", "--json", "--eyes-open", check=True).stdout
        )
    ]
    assert set(kept) == set(OPEN) | {HAPPY_PHOTO}
    run_emotag("tag", str(album), check=True)
    tagged = [
        Path(r["path"]).name
        for r in json_lines(
            run_emotag("top", "neutral", str(album), "-n", "20", "--json", "--eyes-open", check=True).stdout
        )
    ]
    assert tagged == kept  # from the tags, the same


def test_eye_features_are_finite_on_a_flat_image():
    """A face box over a plain grey image (no eyes to see) reads without dividing by zero."""
    reader = EyeReader()
    grey = np.full((200, 200), 128, dtype=np.uint8)
    eyes = reader.read(grey, (20, 20, 160, 160))
    assert eyes is None or 0.0 <= eyes.closed <= 1.0


@pytest.mark.slow
@pytest.mark.parametrize("fields", [("XMP-dc:Subject",), KEYWORD_FIELDS], ids=["one field", "every field"])
def test_the_closed_eyes_keyword_the_user_took_away_stays_away_until_forced(tmp_path, fields):
    """`Eyes closed` taken away (from dc:subject only, as a manager that edits only it does, or from every field)
    is written no more, and emotag's other copies go too; `--force` brings it back."""
    (closed,) = copy_shared((CLOSED[0],), tmp_path / "album")
    assert json_lines(run_emotag("tag", str(closed), "--json", check=True).stdout)[0]["eyes_tag"] == "Eyes closed"
    subprocess.run(
        ["exiftool", "-q", "-overwrite_original", *[f"-{name}-=Eyes closed" for name in fields], "--", str(closed)],
        check=True,
    )
    again = json_lines(run_emotag("tag", str(closed), "--json", check=True).stdout)[0]
    assert again["status"] == "updated" and again["eyes_tag"] is None, again
    assert not any("Eyes" in value for values in keyword_fields(closed).values() for value in values)
    assert "eyes_closed" in as_list(exiftool_tags(closed, "XMP-emotag:Rejected")["XMP-emotag:Rejected"])
    unchanged = digest(closed)
    for _ in ("from the ledger", "from the tags"):
        assert json_lines(run_emotag("tag", str(closed), "--json", check=True).stdout)[0]["eyes_tag"] is None
        assert digest(closed) == unchanged
        closed.touch()  # the ledger's entry no longer matches: the photo's own tags are read again

    forced = json_lines(run_emotag("tag", str(closed), "--json", "--force", check=True).stdout)[0]
    assert forced["eyes_tag"] == "Eyes closed" and "Eyes closed" in keyword_fields(closed)["XMP-dc:Subject"]
    assert "XMP-emotag:Rejected" not in exiftool_tags(closed, "XMP-emotag:Rejected")


def test_eyes_open_ranks_by_the_chance_that_the_eyes_are_open():
    """A laugh that squeezes the eyes reads as open at a closed score near 0.2; `--eyes-open` puts a smile whose
    eyes are plainly open before it, and untold eyes of the face that smiles count as even odds."""
    squeezed = Pick(Path("squeezed.jpg"), 0.999, [ReadFace([0, 0, 1, 1], {"happy": 0.999}, "open", 0.19)])
    plain = Pick(Path("plain.jpg"), 0.98, [ReadFace([0, 0, 1, 1], {"happy": 0.98}, "open", 0.001)])
    turned = Pick(Path("turned.jpg"), 0.995, [ReadFace([0, 0, 1, 1], {"happy": 0.995}, None, None)])
    group = Pick(
        Path("group.jpg"),
        0.97,
        [ReadFace([0, 0, 0.5, 0.5], {"happy": 0.97}, "open", 0.002), ReadFace([0.8, 0, 0.1, 0.1], {"happy": 0.1})],
    )
    blink = Pick(Path("blink.jpg"), 1.0, [ReadFace([0, 0, 1, 1], {"happy": 1.0}, "closed", 0.9)])
    picks = [squeezed, plain, turned, group, blink]
    assert [p.path.name for p in best_first(picks, "happy")] == [
        "blink.jpg",
        "squeezed.jpg",
        "turned.jpg",
        "plain.jpg",
        "group.jpg",
    ]
    assert [p.path.name for p in best_first(picks, "happy", eyes_open=True)] == [
        "plain.jpg",
        "group.jpg",  # its small face, eyes untold, does not count
        "squeezed.jpg",
        "turned.jpg",
    ]


@pytest.mark.slow
def test_top_eyes_open_puts_plainly_open_eyes_before_a_squeezed_laugh(tmp_path):
    """A real laughing face with closed eyes that the reading calls open: happier than two smiles with plainly
    open eyes, it comes after them with `--eyes-open`."""
    album = tmp_path / "album"
    copy_shared((SQUEEZED_LAUGH,) + OPEN_SMILES, album)
    plain = [Path(r["path"]).name for r in json_lines(run_emotag("top", "happy", str(album), "--json").stdout)]
    assert plain[0] == SQUEEZED_LAUGH
    kept = [
        Path(r["path"]).name
        for r in json_lines(run_emotag("top", "happy", str(album), "-n", "2", "--json", "--eyes-open").stdout)
    ]
    assert set(kept) == set(OPEN_SMILES)
