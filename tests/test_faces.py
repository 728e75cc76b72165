"""Finding faces: upright whatever the EXIF orientation, crops framed like FER2013, recall on hand-boxed photos."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from emotag.emotions import CROP_SIZE
from emotag.faces import FaceFinder, cut_crop, face_template, similarity
from emotag.photos import PhotoError, read_photo, working_scale
from tests.helpers import HAPPY_PHOTO, NO_FACE_PHOTOS, ROOT, SAMPLES, SHARED, STORED_AS


@pytest.fixture(scope="module")
def finder() -> FaceFinder:
    return FaceFinder()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_boxes_land_on_the_face_for_every_exif_orientation(tmp_path, finder, orientation):
    upright = Image.open(SAMPLES / HAPPY_PHOTO)
    expected = finder.find(read_photo(SAMPLES / HAPPY_PHOTO))[0].box
    transpose = STORED_AS[orientation]
    stored = upright.copy() if transpose is None else upright.transpose(transpose)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"oriented-{orientation}.jpg"
    stored.save(path, quality=95, exif=exif)
    photo = read_photo(path)
    assert (photo.width, photo.height) == upright.size
    faces = finder.find(photo)
    assert faces, f"orientation {orientation}: face lost"
    assert all(abs(a - b) <= 6 for a, b in zip(faces[0].box, expected)), (orientation, faces[0].box, expected)


def test_no_face_in_photos_without_people(finder):
    for name in NO_FACE_PHOTOS:
        assert finder.find(read_photo(SAMPLES / name)) == []


def test_crops_put_the_landmarks_where_fer2013_has_them(finder):
    face = finder.find(read_photo(SAMPLES / HAPPY_PHOTO))[0]
    assert face.crop.shape == (CROP_SIZE, CROP_SIZE) and face.crop.dtype == np.uint8
    mapped = similarity(face.landmarks, face_template())
    moved = face.landmarks @ mapped[:, :2].T + mapped[:, 2]
    assert np.abs(moved - face_template()).max() < 3.0


def test_cut_crop_of_a_template_aligned_face_is_the_identity():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (CROP_SIZE, CROP_SIZE), dtype=np.uint8)
    big = np.asarray(Image.fromarray(image).resize((192, 192), Image.Resampling.NEAREST))
    crop = cut_crop(big, face_template() * 4)
    assert np.abs(crop.astype(int) - image.astype(int)).mean() < 12


def test_small_photos_are_doubled_and_large_ones_shrunk():
    assert working_scale(500, 375, 1600) == 2.0
    assert working_scale(4000, 3000, 1600) == pytest.approx(0.4)


def test_large_jpegs_are_decoded_at_reduced_size():
    big = Image.open(SAMPLES / HAPPY_PHOTO).resize((4000, 4000))
    buffer = io.BytesIO()
    big.save(buffer, "JPEG")
    from emotag.photos import decode

    photo = decode(buffer, 1600, SAMPLES / "big.jpg")
    assert (photo.width, photo.height) == (4000, 4000) and photo.grey.shape == (1600, 1600)


def test_a_decompression_bomb_is_refused(tmp_path):
    path = tmp_path / "bomb.png"
    Image.new("1", (20000, 20000)).save(path)  # 400 megapixels in a few kilobytes
    with pytest.raises(PhotoError, match="too large"):
        read_photo(path)


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "photos").is_dir(), reason="development photos not present")
def test_recall_on_hand_boxed_photos_at_their_size_and_at_12_megapixels():
    output = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "face_recall.py"), "--sizes", "1600"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    rows = [line.split() for line in output.splitlines()[1:] if line.strip()]
    assert len(rows) == 2
    for row in rows:
        recall, false_faces = float(row[-4]), int(row[-2])
        assert recall >= 0.95 and false_faces <= 2, row


def close_ups(tmp_path, finder) -> dict[str, tuple]:
    """The happy sample's face as photographers and film editors frame it: filling the frame, tilted, tiny."""
    upright = Image.open(SAMPLES / HAPPY_PHOTO).convert("RGB")
    left, top, width, height = finder.find(read_photo(SAMPLES / HAPPY_PHOTO))[0].box
    # cut at the brows and the chin, as a tight crop or a film still is: HOG's window no longer fits
    tight = upright.crop((left + width * 0.12, top + height * 0.2, left + width * 0.88, top + height * 0.95))
    made = {
        "fills the frame": tight.resize((900, round(900 * tight.height / tight.width))),
        "small film still": tight.resize((46, round(46 * tight.height / tight.width)), Image.Resampling.BOX),
        "tilted head": upright.crop((left - width, top - height, left + 2 * width, top + 2 * height)).rotate(
            45, resample=Image.Resampling.BICUBIC, fillcolor=(90, 90, 90)
        ),
    }
    paths = {}
    for name, image in made.items():
        path = tmp_path / f"{name.replace(' ', '-')}.jpg"
        image.save(path, quality=92)
        paths[name] = (path, image.size)
    return paths


def test_a_face_filling_the_frame_a_tilted_head_and_a_tiny_still_are_found_and_read(tmp_path, finder):
    from emotag.expressions import classify_crops

    for name, (path, (width, height)) in close_ups(tmp_path, finder).items():
        faces = [face for face in finder.find(read_photo(path)) if face.readable]
        assert len(faces) == 1, name
        left, top, w, h = faces[0].box
        assert left >= 0 and top >= 0 and left + w <= width and top + h <= height, (name, faces[0].box)
        assert w * h > 0.1 * width * height, f"{name}: the box should cover the face, not a corner"
        scores = classify_crops(faces[0].crop[np.newaxis])[0]
        assert scores.argmax() == 3, f"{name}: the smile should still read as happy, got {scores.round(2)}"


def test_close_up_views_map_back_to_the_photos_own_pixels():
    from emotag.faces import CloseUp

    grey = np.zeros((300, 200), np.uint8)
    for tilt in (0.0, 22.0, -22.0):
        view = CloseUp(grey, tilt)
        corners = np.array([[0.0, 0.0], [view.grey.shape[1], view.grey.shape[0]]])
        centre = view.to_photo(corners.mean(axis=0, keepdims=True))[0]
        assert np.allclose(centre, [100, 150], atol=1.5), (tilt, centre)
        assert max(view.grey.shape) == 320
