"""The ledger on its own, in this process: a real SQLite file in a temporary folder, in milliseconds."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from emotag.ledger import SCHEMA, Done, Ledger, LedgerError, default_location

MODEL = "model-1"


@pytest.fixture
def ledger(tmp_path):
    kept = Ledger(tmp_path / "data" / "ledger.sqlite")
    yield kept
    kept.close()


@pytest.fixture
def photo(tmp_path) -> Path:
    path = tmp_path / "IMG_1.jpg"
    path.write_bytes(b"a photo")
    return path


def test_a_recorded_photo_is_done_for_its_model_and_settings_only(ledger, photo):
    assert ledger.is_done(photo, MODEL) is None
    ledger.record(photo, MODEL, "tagged", settings="s1", tags=["Happy", "Emotion|Happy"])
    assert ledger.is_done(photo, MODEL) == Done("tagged", ["Happy", "Emotion|Happy"])
    assert ledger.is_done(photo, MODEL, "s1") == Done("tagged", ["Happy", "Emotion|Happy"])
    assert ledger.is_done(photo, MODEL, "s2") is None, "other settings: looked at again"
    assert ledger.is_done(photo, "model-2") is None, "another model: read again"


def test_a_photo_without_tags_is_done_with_none(ledger, photo):
    ledger.record(photo, MODEL, "no_faces")
    assert ledger.is_done(photo, MODEL) == Done("no_faces", [])


def test_a_photo_changed_since_is_not_done(ledger, photo):
    ledger.record(photo, MODEL, "tagged", tags=["Happy"])
    photo.write_bytes(b"a photo, edited")
    assert ledger.is_done(photo, MODEL) is None
    ledger.record(photo, MODEL, "tagged", tags=["Happy"])
    stat = photo.stat()
    os.utime(photo, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # the same size, a later time
    assert ledger.is_done(photo, MODEL) is None


def test_a_photo_that_is_gone_is_neither_done_nor_recorded(ledger, tmp_path):
    gone = tmp_path / "gone.jpg"
    ledger.record(gone, MODEL, "tagged")
    assert ledger.is_done(gone, MODEL) is None


def test_forget_and_a_record_again_replace_the_last_one(ledger, photo):
    ledger.record(photo, MODEL, "tagged", tags=["Happy"])
    ledger.record(photo, MODEL, "updated", tags=["Sad"])
    assert ledger.is_done(photo, MODEL) == Done("updated", ["Sad"])
    ledger.forget(photo)
    assert ledger.is_done(photo, MODEL) is None


def test_left_untagged_until_tagged_again(ledger, photo):
    ledger.record(photo, MODEL, "tagged", tags=["Happy"])
    ledger.leave_untagged(photo)
    assert ledger.is_left_untagged(photo) and ledger.is_done(photo, MODEL) is None
    photo.write_bytes(b"edited later by a photo manager")
    assert ledger.is_left_untagged(photo), "by path, whatever later edits do"
    ledger.record(photo, MODEL, "tagged", tags=["Happy"])  # `tag --force`
    assert not ledger.is_left_untagged(photo)


def test_records_outlive_the_process_that_wrote_them(tmp_path, photo):
    location = tmp_path / "ledger.sqlite"
    first = Ledger(location)
    first.record(photo, MODEL, "tagged", tags=["Happy"])
    first.leave_untagged(photo.with_name("other.jpg"))
    first.close()
    again = Ledger(location)
    assert again.is_done(photo, MODEL) == Done("tagged", ["Happy"])
    assert again.is_left_untagged(photo.with_name("other.jpg"))
    again.close()


def test_the_same_photo_by_a_relative_path_is_the_same_record(ledger, photo, monkeypatch):
    monkeypatch.chdir(photo.parent)
    ledger.record(Path(photo.name), MODEL, "tagged", tags=["Happy"])
    assert ledger.is_done(photo, MODEL) == Done("tagged", ["Happy"])


def test_a_name_that_is_not_utf8_is_kept(ledger, tmp_path):
    photo = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"caf\xe9.jpg")))
    photo.write_bytes(b"a photo")
    ledger.record(photo, MODEL, "tagged", tags=["Happy"])
    assert ledger.is_done(photo, MODEL) == Done("tagged", ["Happy"])


def test_a_corrupt_ledger_is_started_anew(tmp_path, photo):
    location = tmp_path / "ledger.sqlite"
    location.write_bytes(b"not a database, " * 100)
    ledger = Ledger(location)
    assert ledger.is_done(photo, MODEL) is None
    ledger.record(photo, MODEL, "tagged")
    assert ledger.is_done(photo, MODEL) == Done("tagged", [])
    ledger.close()


def test_an_outdated_ledger_is_started_anew(tmp_path, photo):
    location = tmp_path / "ledger.sqlite"
    before_settings = SCHEMA.replace(",\n    settings TEXT NOT NULL DEFAULT '',\n    tags TEXT NOT NULL DEFAULT ''", "")
    assert "settings" not in before_settings
    old = sqlite3.connect(location)
    old.execute(before_settings)
    old.execute("INSERT INTO photos VALUES ('/old.jpg', 1, 1, 'model-0', 'tagged', 0)")
    old.commit()
    old.close()
    ledger = Ledger(location)
    ledger.record(photo, MODEL, "tagged", tags=["Happy"])
    assert ledger.is_done(photo, MODEL) == Done("tagged", ["Happy"])
    ledger.close()


def test_a_ledger_where_it_cannot_be_kept_says_where_and_what_to_do(tmp_path):
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data folder should be")
    with pytest.raises(LedgerError, match="EMOTAG_DATA_DIR") as raised:
        Ledger(blocker / "ledger.sqlite")
    assert str(tmp_path) in str(raised.value)


def test_the_data_folder_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTAG_DATA_DIR", str(tmp_path / "mine"))
    assert default_location() == tmp_path / "mine" / "ledger.sqlite"
    ledger = Ledger()
    assert ledger.location == tmp_path / "mine" / "ledger.sqlite" and ledger.location.is_file()
    ledger.close()
