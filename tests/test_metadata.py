"""Where tags go and how emotag's values sit beside the user's, with the real ExifTool."""

from __future__ import annotations

import shutil

import pytest

from emotag.exiftool import MetadataError
from emotag.record import Metadata
from emotag.sidecars import metadata_target
from emotag.tags import (
    HIERARCHICAL,
    SUBJECT,
    FaceReading,
    TagScheme,
    decision_thresholds,
    keywords,
    merge,
    photo_emotions,
    thresholds_text,
)
from tests.helpers import HAPPY_PHOTO, SAMPLES, exiftool_tags

OWN = {"model_version": "test", "thresholds": "angry=0.5", "emotions": ["happy"], "faces": []}


def test_sidecar_names(tmp_path):
    raw = tmp_path / "IMG_1.CR2"
    raw.write_bytes(b"raw")
    assert metadata_target(tmp_path / "IMG_1.JPG") == tmp_path / "IMG_1.JPG"
    assert metadata_target(tmp_path / "IMG_1.dng") == tmp_path / "IMG_1.dng"
    assert metadata_target(raw) == tmp_path / "IMG_1.CR2.xmp"
    assert metadata_target(raw, "lightroom") == tmp_path / "IMG_1.xmp"
    (tmp_path / "IMG_1.xmp").write_text("")
    assert metadata_target(raw) == tmp_path / "IMG_1.xmp", "an existing Lightroom sidecar must be the one updated"


def test_sidecar_is_created_and_a_lightroom_sidecar_keeps_its_own_values(tmp_path):
    raw = tmp_path / "IMG_2.NEF"
    raw.write_bytes(b"raw")
    ours = keywords(["happy", "surprise"], TagScheme())
    with Metadata() as metadata:
        sidecar = metadata_target(raw)
        metadata.write(sidecar, metadata.read(sidecar), ours, OWN)
        assert exiftool_tags(sidecar, HIERARCHICAL)[HIERARCHICAL] == ["Emotion", "Emotion|Happy", "Emotion|Surprise"]
        assert raw.read_bytes() == b"raw"

        other = tmp_path / "IMG_3.NEF"
        other.write_bytes(b"raw")
        lightroom = tmp_path / "IMG_3.xmp"
        shutil.copy(sidecar, lightroom)
        metadata.untag(lightroom, metadata.read(lightroom))
        import subprocess

        subprocess.run(
            ["exiftool", "-overwrite_original", "-XMP-dc:Subject=Holiday", "--", str(lightroom)],
            check=True,
            capture_output=True,
        )
        target = metadata_target(other)
        assert target == lightroom
        metadata.write(target, metadata.read(target), ours, OWN)
        assert exiftool_tags(lightroom, SUBJECT)[SUBJECT] == ["Holiday", "Happy", "Surprise"]
    assert not (tmp_path / "IMG_3.NEF.xmp").exists()


def test_unreadable_and_vanished_files_are_metadata_errors(tmp_path):
    with Metadata() as metadata:
        with pytest.raises(MetadataError):
            metadata.write(tmp_path / "gone.jpg", metadata.read(tmp_path / "x.xmp"), {}, OWN)
        broken = tmp_path / "broken.jpg"
        broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
        with pytest.raises(MetadataError):
            metadata.write(broken, metadata.read(broken), keywords(["happy"], TagScheme()), OWN)
        copy = tmp_path / "fine.jpg"
        shutil.copy(SAMPLES / HAPPY_PHOTO, copy)
        metadata.write(copy, metadata.read(copy), keywords(["happy"], TagScheme()), OWN)  # still works after errors
        assert metadata.read(copy).model_version == "test"


def test_merge_keeps_user_values_in_order_and_replaces_only_emotags():
    assert merge(None, [], ["Happy"]) == (["Happy"], ["Happy"])
    assert merge(["B", "A"], [], ["Happy"]) == (["B", "A", "Happy"], ["Happy"])
    assert merge(["B", "Happy", "A"], [], ["Happy"]) == (["B", "Happy", "A"], []), "the user's own Happy stays theirs"
    assert merge(["B", "A", "Sad"], ["Sad"], ["Happy"]) == (["B", "A", "Happy"], ["Happy"])
    assert merge(["Sad", "B"], ["Sad"], []) == (["B"], [])


def test_a_photo_gets_each_emotion_shown_confidently_by_any_face():
    def face(emotion, confidence):
        return FaceReading(emotion, confidence, {})

    readings = [face("sad", 0.4), face("happy", 0.9), face("happy", 0.6), face("surprise", 0.55)]
    assert photo_emotions(readings, decision_thresholds(0.5, {}, {})) == ["happy", "surprise"]
    assert photo_emotions(readings, decision_thresholds(0.95, {}, {})) == []


def test_each_emotion_has_its_own_threshold_and_one_for_all_overrides_them():
    def face(emotion, confidence):
        return FaceReading(emotion, confidence, {})

    readings = [face("sad", 0.45), face("happy", 0.9), face("angry", 0.6)]
    model = {"sad": 0.4, "angry": 0.7, "happy": 0.8}
    assert photo_emotions(readings, decision_thresholds(None, {}, model)) == ["happy", "sad"]
    assert photo_emotions(readings, decision_thresholds(None, {"angry": 0.55, "happy": 0.95}, model)) == [
        "angry",
        "sad",
    ]
    assert photo_emotions(readings, decision_thresholds(0.5, {"sad": 0.1}, model)) == ["angry", "happy"]
    assert decision_thresholds(None, {}, {})["neutral"] == 0.5  # an older model card names none
    assert thresholds_text(decision_thresholds(None, {}, model)).startswith("angry=0.7 disgust=0.5 fear=0.5 happy=0.8")


def test_stored_faces_read_back_typed_and_a_damaged_face_is_left_out():
    """The faces `top` and `show` read back from emotag's record: a face stored damaged (no box) is left out, eyes
    from before emotag read them are None, and a stored "unknown" tells nothing either."""
    from emotag.record import TagRecord, faces_from_record
    from emotag.results import ReadFace

    scores = {"Happy": "0.9", "Neutral": "0.1"}
    record = TagRecord(
        faces=[
            {"X": "0.1", "Y": "0.2", "W": "0.3", "H": "0.4", **scores, "Eyes": "closed", "EyesClosed": "0.8"},
            {"X": "0.5", "Y": "0.5", "W": "0.1", **scores},
            {"X": "0", "Y": "0", "W": "1", "H": "1", **scores, "Eyes": "unknown", "EyesClosed": "0.3"},
        ]
    )
    faces = faces_from_record(record)
    assert [type(face) for face in faces] == [ReadFace, ReadFace]
    assert faces[0].box == [0.1, 0.2, 0.3, 0.4] and faces[0].scores["happy"] == 0.9 and faces[0].scores["sad"] == 0.0
    assert (faces[0].eyes, faces[0].eyes_closed) == ("closed", 0.8)
    assert (faces[1].eyes, faces[1].eyes_closed) == (None, None)


def test_untag_results_print_as_before():
    """`untag --json` prints {path, status} and the error only where there is one, the status as plain text."""
    import json
    from pathlib import Path

    from emotag.results import Status, UntagResult

    done = UntagResult(Path("a.jpg"), Status.UNTAGGED).to_json()
    assert json.dumps(done) == '{"path": "a.jpg", "status": "untagged"}'
    failed = UntagResult(Path("b.txt"), Status.ERROR, "not a photo").to_json()
    assert json.dumps(failed) == '{"path": "b.txt", "status": "error", "error": "not a photo"}'
    assert Status.NOT_TAGGED == "not_tagged" and f"{Status.NOT_TAGGED}" == "not_tagged"
