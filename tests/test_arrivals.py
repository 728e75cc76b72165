"""The watcher's settling rule in-process, with delays of a tenth of a second (paperless-ngx's
`FileStabilityTracker` tests): a photo is handed on once it holds still and, for JPEG and PNG, ends as it should."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from emotag.arrivals import Arrivals, is_candidate, looks_complete
from tests.helpers import HAPPY_PHOTO, SAMPLES

SETTLE = 0.1
HAPPY = SAMPLES / HAPPY_PHOTO


@pytest.fixture
def arrivals() -> Arrivals:
    return Arrivals(settle=SETTLE, unchecked_settle=2 * SETTLE, unfinished=5 * SETTLE)


def settled_within(arrivals: Arrivals, seconds: float) -> list[Path]:
    """What settles within `seconds`, looking as the watcher does: when `next_due` says."""
    deadline = time.monotonic() + seconds
    ready: list[Path] = []
    while time.monotonic() < deadline and len(arrivals):
        time.sleep(min(arrivals.next_due(time.monotonic()) or 0, max(0, deadline - time.monotonic())))
        ready += arrivals.settled(time.monotonic())
    return ready


def test_a_complete_photo_settles_after_the_delay_and_not_before(tmp_path, arrivals):
    photo = Path(shutil.copy(HAPPY, tmp_path / "a.jpg"))
    assert arrivals.note(photo) is True
    assert arrivals.note(photo) is False, "noted again while settling: not new"
    assert arrivals.settled(time.monotonic()) == []
    assert 0 < arrivals.next_due(time.monotonic()) <= SETTLE
    assert settled_within(arrivals, 5 * SETTLE) == [photo]
    assert len(arrivals) == 0 and arrivals.next_due(time.monotonic()) is None


def test_a_photo_still_growing_waits_until_it_holds_still(tmp_path, arrivals):
    data = HAPPY.read_bytes()
    photo = tmp_path / "growing.jpg"
    photo.write_bytes(data[:1000])
    arrivals.note(photo)
    time.sleep(SETTLE * 1.5)
    with open(photo, "ab") as file:
        file.write(data[1000:])
    assert arrivals.settled(time.monotonic()) == [], "it changed since it was seen: look again later"
    assert settled_within(arrivals, 5 * SETTLE) == [photo]


def test_a_jpeg_cut_short_is_held_back_then_handed_on_once_it_has_sat_long_enough(tmp_path, arrivals):
    photo = tmp_path / "cut.jpg"
    photo.write_bytes(HAPPY.read_bytes()[:5000])
    assert not looks_complete(photo)
    noted = time.monotonic()
    arrivals.note(photo)
    assert settled_within(arrivals, 3 * SETTLE) == []
    assert settled_within(arrivals, 10 * SETTLE) == [photo]
    assert time.monotonic() - noted >= 5 * SETTLE


def test_a_format_without_an_ending_test_waits_the_longer_delay(tmp_path, arrivals):
    photo = tmp_path / "a.tif"
    photo.write_bytes(b"II*\0" + bytes(100))
    assert looks_complete(photo)
    arrivals.note(photo)
    assert settled_within(arrivals, SETTLE * 1.5) == []
    assert settled_within(arrivals, 5 * SETTLE) == [photo]


def test_a_photo_that_vanishes_or_is_forgotten_never_settles(tmp_path, arrivals):
    gone = Path(shutil.copy(HAPPY, tmp_path / "gone.jpg"))
    moved = Path(shutil.copy(HAPPY, tmp_path / "moved.jpg"))
    arrivals.note(gone)
    arrivals.note(moved)
    gone.unlink()
    arrivals.forget(moved)
    assert settled_within(arrivals, 5 * SETTLE) == []
    assert len(arrivals) == 0
    assert arrivals.note(tmp_path / "never-there.jpg") is False


def test_photos_settle_in_the_order_they_arrived(tmp_path, arrivals):
    photos = [Path(shutil.copy(HAPPY, tmp_path / f"{name}.jpg")) for name in ("c", "a", "b")]
    for photo in photos:
        arrivals.note(photo)
    time.sleep(SETTLE * 1.5)
    assert arrivals.settled(time.monotonic()) == photos


def test_a_folder_or_a_pipe_named_like_a_photo_is_not_noted(tmp_path, arrivals):
    (tmp_path / "folder.jpg").mkdir()
    os.mkfifo(tmp_path / "pipe.jpg")
    assert not arrivals.note(tmp_path / "folder.jpg") and not arrivals.note(tmp_path / "pipe.jpg")
    assert len(arrivals) == 0


def test_temporary_hidden_and_sidecar_files_are_not_candidates(tmp_path):
    for name in ("a.jpg.part", "a.jpg_exiftool_tmp", ".hidden.jpg", "a.xmp", "~$a.jpg", "a.txt"):
        assert not is_candidate(tmp_path / name, [tmp_path]), name
    assert is_candidate(tmp_path / "sub" / "a.jpg", [tmp_path])
    assert not is_candidate(tmp_path / "a.jpg", [tmp_path / "elsewhere"])
