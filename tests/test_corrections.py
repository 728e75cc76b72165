"""The photographer's decision wins: keywords taken away stay away, untagged photos stay untagged, a changed setting
makes a photo be looked at again, and the counts say what happened. Real photos, the real `emotag`, real ExifTool."""

from __future__ import annotations

import os
import subprocess
from dataclasses import field, make_dataclass
from pathlib import Path

import pytest

from emotag.pipeline import Settings
from tests.helpers import HAPPY_PHOTO, KEYWORD_FIELDS, NEUTRAL_PHOTO, as_list, exiftool_tags, json_lines, run_emotag

HAPPY_VALUES = {
    "XMP-dc:Subject": "Happy",
    "XMP-lr:HierarchicalSubject": "Emotion|Happy",
    "XMP-digiKam:TagsList": "Emotion/Happy",
    "IPTC:Keywords": "Happy",
}


def keywords(photo: Path) -> dict[str, list]:
    written = exiftool_tags(photo, *KEYWORD_FIELDS)
    return {name: [str(v) for v in as_list(written.get(name))] for name in KEYWORD_FIELDS}


def as_a_photo_manager(photo: Path, *arguments: str) -> None:
    """Change the photo the way a photo manager does: ExifTool, nothing of emotag's."""
    subprocess.run(["exiftool", "-q", "-overwrite_original", *arguments, "--", str(photo)], check=True)


def one(result: subprocess.CompletedProcess) -> dict:
    (line,) = json_lines(result.stdout)
    return line


@pytest.mark.slow
@pytest.mark.parametrize("fields", [("XMP-dc:Subject",), KEYWORD_FIELDS], ids=["one field", "every field"])
def test_a_keyword_the_user_took_away_stays_away_in_every_field(album, fields, tmp_path):
    """Happy taken away (from dc:subject only, or from every field) and Sad added by hand: the next runs, with the
    ledger or without it, at another threshold too, give Sad alone; emotag's other copies of Happy go as well."""
    photo = album / HAPPY_PHOTO
    run_emotag("tag", str(photo), check=True)
    assert keywords(photo)["XMP-dc:Subject"] == ["Happy"]
    as_a_photo_manager(
        photo, *[f"-{name}-={HAPPY_VALUES[name]}" for name in fields], "-XMP-dc:Subject+=Sad", "-IPTC:Keywords+=Sad"
    )

    again = one(run_emotag("tag", str(photo), "--json", check=True))
    assert (again["status"], again["tags"], again["removed"]) == ("updated", [], ["Happy"])
    after = keywords(photo)
    assert after["XMP-dc:Subject"] == ["Sad"], "the keyword the user took away came back"
    assert after["IPTC:Keywords"] == ["Sad"]
    assert not after["XMP-lr:HierarchicalSubject"] and not after["XMP-digiKam:TagsList"], "emotag's Happy stayed"

    elsewhere = {"EMOTAG_DATA_DIR": str(tmp_path / "other-machine")}
    for options in ((), ("--min-confidence", "0.2"), ("--min-confidence", "0.6")):
        later = one(run_emotag("tag", str(photo), "--json", *options, check=True, env=elsewhere))
        assert "Happy" not in later["tags"] and keywords(photo) == after, options

    decided_again = one(run_emotag("tag", str(photo), "--force", "--json", check=True))
    assert decided_again["tags"] == ["Happy"] and keywords(photo)["XMP-dc:Subject"] == ["Sad", "Happy"]


@pytest.mark.slow
def test_the_keyword_root_alone_taken_away_is_not_a_rejection_and_does_not_come_back(album):
    """A manager that keeps `Emotion|Happy` but drops the lone `Emotion` entry it implies: Happy stays, and emotag
    does not put the root back (it would fight the manager on every save)."""
    photo = album / HAPPY_PHOTO
    run_emotag("tag", str(photo), check=True)
    as_a_photo_manager(photo, "-XMP-lr:HierarchicalSubject-=Emotion")
    again = one(run_emotag("tag", str(photo), "--json", check=True))
    assert again["tags"] == ["Happy"]
    assert keywords(photo)["XMP-lr:HierarchicalSubject"] == ["Emotion|Happy"]
    assert keywords(photo)["XMP-dc:Subject"] == ["Happy"]


@pytest.mark.slow
def test_an_untagged_photo_stays_untagged_for_folder_runs_until_forced(album):
    photo = album / HAPPY_PHOTO
    run_emotag("tag", str(album), check=True)
    untagged = run_emotag("untag", str(photo), check=True)
    assert "1 untagged" in untagged.stderr, "untag must end with a summary line"
    as_a_photo_manager(photo, "-XMP-xmp:Rating=3")  # a later edit does not make it a new photo

    results = {Path(r["path"]).name: r for r in json_lines(run_emotag("tag", str(album), "--json", check=True).stdout)}
    assert results[HAPPY_PHOTO]["status"] == "left_untagged"
    assert not exiftool_tags(photo, "XMP-emotag:all") and not keywords(photo)["XMP-dc:Subject"]
    assert "1 left untagged" in run_emotag("tag", str(album), check=True).stderr

    forced = one(run_emotag("tag", str(photo), "--force", "--json", check=True))
    assert (forced["status"], forced["tags"]) == ("tagged", ["Happy"])
    assert one(run_emotag("tag", str(photo), "--json", check=True))["status"] == "unchanged"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("setting", "first", "then", "statuses"),
    [
        ("max_side", 200, 1600, ("no_faces", "tagged")),  # at 200 pixels the face is not found
        ("min_face", 400, 32, ("skipped", "tagged")),  # faces narrower than 400 pixels are not read
        ("min_face", 32, 400, ("tagged", "tagged")),  # a tagged photo read again: its face is now too small
    ],
)
def test_a_setting_that_decides_the_faces_makes_a_photo_be_looked_at_again(
    album, private_state, setting, first, then, statuses
):
    photo = album / HAPPY_PHOTO
    config = private_state / "config.toml"
    config.write_text(f"{setting} = {first}\n")
    before = one(run_emotag("tag", str(photo), "--json", check=True))
    config.write_text(f"{setting} = {then}\n")
    after = one(run_emotag("tag", str(photo), "--json", check=True))
    assert (before["status"], after["status"]) == statuses, (before, after)
    assert after["faces"], "the photo was not read again"
    assert after["tags"] == (["Happy"] if then == 32 or setting == "max_side" else [])
    if statuses[0] == "tagged":
        assert after["removed"] == ["Happy"]


def test_every_setting_that_decides_the_result_is_in_the_fingerprint():
    """A setting added later (the lead's per-emotion thresholds, say) joins the fingerprint by being a field."""
    base = Settings()
    for name, value in (("min_face", 50), ("max_side", 800), ("min_confidence", 0.7), ("sidecar", "lightroom")):
        assert Settings(**{name: value}).fingerprint() != base.fingerprint(), name
    for name in ("keep_mtime", "force", "dry_run"):
        assert Settings(**{name: True}).fingerprint() == base.fingerprint(), name
    thresholds = ("thresholds", dict, field(default_factory=lambda: {"happy": 0.5}))
    Later = make_dataclass("Later", [thresholds], bases=(Settings,))
    assert Later(thresholds={"happy": 0.6}).fingerprint() != Later().fingerprint()


@pytest.mark.slow
def test_counts_say_what_happened_and_a_dry_run_says_which_tags_would_go(album):
    photo = album / NEUTRAL_PHOTO  # a face read with a confidence below 1, so a threshold above it takes the tag
    first = run_emotag("tag", str(photo), "--json", check=True)
    confidence = json_lines(first.stdout)[0]["faces"][0]["confidence"]
    assert "1 tagged" in first.stderr and "1 tag added" in first.stderr and confidence < 0.99
    strict = f"{confidence + 0.01:.2f}"

    dry = run_emotag("tag", str(photo), "--min-confidence", strict, "--dry-run", check=True)
    assert f"{photo}: would remove Neutral" in dry.stdout and "would go" in dry.stderr
    assert keywords(photo)["XMP-dc:Subject"] == ["Neutral"]
    dry_json = one(run_emotag("tag", str(photo), "--min-confidence", strict, "--dry-run", "--json", check=True))
    assert (dry_json["added"], dry_json["removed"]) == ([], ["Neutral"])

    stricter = run_emotag("tag", str(photo), "--min-confidence", strict, check=True)
    assert "0 tagged" in stricter.stderr and "1 updated" in stricter.stderr and "1 removed" in stricter.stderr
    back = one(run_emotag("tag", str(photo), "--json", check=True))
    assert (back["status"], back["added"], back["removed"]) == ("updated", ["Neutral"], [])


@pytest.mark.slow
def test_untag_keep_mtime_keeps_the_modification_time(album):
    photo = album / HAPPY_PHOTO
    run_emotag("tag", str(photo), check=True)
    os.utime(photo, ns=(1_500_000_000_000_000_000, 1_500_000_000_000_000_000))
    run_emotag("untag", "--keep-mtime", str(photo), check=True)
    assert photo.stat().st_mtime_ns == 1_500_000_000_000_000_000
    assert not exiftool_tags(photo, "XMP-emotag:all")


@pytest.mark.slow
def test_the_users_own_keyword_that_emotag_also_decided_stays_away_once_taken_away(album):
    """The user had Happy before emotag (emotag did not add a second one); taking it away later is a correction
    too: emotag must not add Happy as its own, and takes its Emotion|Happy away."""
    photo = album / HAPPY_PHOTO
    as_a_photo_manager(photo, "-XMP-dc:Subject=Happy", "-XMP-dc:Subject=Family")
    run_emotag("tag", str(photo), check=True)
    assert keywords(photo)["XMP-dc:Subject"] == ["Happy", "Family"]
    as_a_photo_manager(photo, "-XMP-dc:Subject-=Happy")
    again = one(run_emotag("tag", str(photo), "--json", check=True))
    assert again["tags"] == [] and keywords(photo)["XMP-dc:Subject"] == ["Family"]
    assert not keywords(photo)["XMP-lr:HierarchicalSubject"]
    run_emotag("untag", str(photo), check=True)
    assert keywords(photo)["XMP-dc:Subject"] == ["Family"]
