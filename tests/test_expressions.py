"""The shipped model through `emotag.classify_crops`, on crops cut by the real face pipeline."""

from __future__ import annotations

import numpy as np
import pytest

import emotag
from emotag.crops import prepare_crops
from emotag.emotions import EMOTIONS
from emotag.faces import FaceFinder
from emotag.photos import read_photo
from tests.helpers import HAPPY_PHOTO, NEUTRAL_PHOTO, SAMPLES, SHARED


def face_crop(name: str) -> np.ndarray:
    faces = FaceFinder().find(read_photo(SAMPLES / name))
    assert faces, f"no face found in {name}"
    return faces[0].crop


def test_probabilities_have_fer2013_columns_and_sum_to_one():
    crops = np.stack([face_crop(HAPPY_PHOTO), face_crop(NEUTRAL_PHOTO)])
    probabilities = emotag.classify_crops(crops)
    assert probabilities.shape == (2, len(EMOTIONS))
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert (probabilities >= 0).all()


def test_known_faces_read_as_expected():
    happy, neutral = emotag.classify_crops(np.stack([face_crop(HAPPY_PHOTO), face_crop(NEUTRAL_PHOTO)]))
    assert EMOTIONS[happy.argmax()] == "happy"
    assert happy[EMOTIONS.index("happy")] > 0.8
    assert EMOTIONS[neutral.argmax()] != "happy"


def test_batch_answers_match_single_answers():
    crop = face_crop(HAPPY_PHOTO)
    alone = emotag.classify_crops(crop[np.newaxis])
    batch = emotag.classify_crops(np.stack([crop] * 300))
    assert np.allclose(batch, alone, atol=1e-4)


def test_empty_batch_and_bad_shapes():
    assert emotag.classify_crops(np.zeros((0, 48, 48), np.uint8)).shape == (0, 7)
    with pytest.raises(ValueError):
        emotag.classify_crops(np.zeros((2, 64, 64), np.uint8))


def test_preprocessing_ignores_exposure():
    crop = face_crop(HAPPY_PHOTO).astype(np.float32)
    darker = np.clip(crop * 0.5 + 10, 0, 255).astype(np.uint8)
    assert np.allclose(prepare_crops(crop.astype(np.uint8)[None]), prepare_crops(darker[None]), atol=0.15)


@pytest.mark.slow
def test_training_and_tagging_share_one_preprocessing():
    from model_training import train

    assert train.prepare_crops is prepare_crops


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "fer2013").is_dir(), reason="FER2013 validation split not present")
def test_validation_accuracy_of_the_shipped_model():
    from model_training.data import load

    faces = load(SHARED / "fer2013", "val")
    first = faces.subset(np.arange(1000))
    predicted = emotag.classify_crops(first.images).argmax(axis=1)
    voted = first.votes.sum(axis=1) > 0
    crowd_top = first.votes[np.arange(1000), predicted] == first.votes.max(axis=1)
    assert crowd_top[voted].mean() > 0.79, "the crowd's majority agrees with the shipped model (1.5.0: 83.0%)"
    assert (predicted == first.labels).mean() > 0.56, "and FER2013's own noisy labels (1.5.0: 60.1%)"


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "fer2013").is_dir(), reason="FER2013 validation split not present")
def test_runtime_model_reads_faces_as_the_trained_keras_model_does():
    """The shipped `.tflite` (8-bit weights) against the `.keras` it came from, same views, on validation faces."""
    import keras

    from emotag.expressions import ModelInfo, model_folder, softmax, view
    from model_training.data import load

    faces = load(SHARED / "fer2013", "val").images[:1000]
    info = ModelInfo.read(model_folder())
    network = keras.models.load_model(model_folder() / f"expression-{info.version}.keras", compile=False)
    prepared = prepare_crops(faces)
    logits = np.mean([network.predict(view(prepared, name), verbose=0) for name in info.views], axis=0)
    expected = softmax(logits, info.temperature)
    shipped = emotag.classify_crops(faces)
    assert (shipped.argmax(axis=1) == expected.argmax(axis=1)).mean() > 0.98
    assert np.abs(shipped - expected).mean() < 0.01


def test_views_are_the_crop_mirrored_and_magnified():
    from emotag.expressions import view

    crop = prepare_crops(face_crop(HAPPY_PHOTO)[None])
    assert np.array_equal(view(crop, "plain"), crop)
    assert np.array_equal(view(crop, "mirror"), crop[:, :, ::-1])
    zoomed = view(crop, "zoom")[0, :, :, 0]
    assert np.allclose(zoomed[23:25, 23:25], crop[0, 23:25, 23:25, 0], atol=0.5)  # the centre stays
    assert not np.allclose(zoomed[0], crop[0, 0, :, 0], atol=0.1)  # the edges come in
    assert np.array_equal(view(crop, "zoom mirror"), view(crop, "zoom")[:, :, ::-1])
