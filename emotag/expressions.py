"""Read expressions: the shipped CNN turns grey 48x48 face crops into calibrated probabilities.

The model ships in `models/` as a Keras file plus `expression-model.json`, which holds its version, the fitted
temperature and whether faces are also read mirrored. TensorFlow is imported only when a face needs reading.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from emotag.crops import prepare_crops
from emotag.emotions import CROP_SIZE, EMOTIONS

MODEL_CARD_FILE = "expression-model.json"
BATCH = 256


class ModelError(RuntimeError):
    """The expression model is missing or cannot be loaded."""


def model_folder() -> Path:
    """Where the shipped model lives: `$EMOTAG_MODEL_DIR`, else `models/` beside the package."""
    override = os.environ.get("EMOTAG_MODEL_DIR")
    return Path(override) if override else Path(__file__).resolve().parent.parent / "models"


@contextmanager
def native_stderr_silenced():
    """Send what C++ libraries print to stderr to /dev/null for a while, unless emotag logs verbosely.

    TensorFlow logs through absl before any setting can quiet it; Python exceptions are unaffected.
    """
    if logging.getLogger("emotag").isEnabledFor(logging.INFO):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@dataclass(frozen=True)
class ModelInfo:
    """What the runtime needs to know about a model besides its weights."""

    version: str
    weights: str
    temperature: float
    mirror: bool

    @classmethod
    def read(cls, folder: Path) -> ModelInfo:
        path = folder / MODEL_CARD_FILE
        try:
            data = json.loads(path.read_text())
            return cls(str(data["version"]), str(data["weights"]), float(data["temperature"]), bool(data["mirror"]))
        except FileNotFoundError:
            raise ModelError(f"{path}: the expression model is missing; reinstall emotag") from None
        except (ValueError, KeyError, TypeError) as error:
            raise ModelError(f"{path}: damaged model description ({error}); reinstall emotag") from None


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


class ExpressionModel:
    """A loaded expression model. Build one per process; it is not cheap (TensorFlow, weights)."""

    def __init__(self, folder: Path | None = None):
        folder = folder or model_folder()
        self.info = ModelInfo.read(folder)
        with native_stderr_silenced():  # TensorFlow's start-up chatter on stderr is not for users
            self._logits = _load(folder / self.info.weights, self.info.mirror)

    @property
    def version(self) -> str:
        return self.info.version

    def logits(self, crops: np.ndarray) -> np.ndarray:
        """Uncalibrated logits, (N, 7), for uint8 crops (N, 48, 48)."""
        prepared = prepare_crops(crops)
        if len(prepared) == 0:
            return np.zeros((0, len(EMOTIONS)), dtype=np.float32)
        parts = [self._logits(prepared[i : i + BATCH]).numpy() for i in range(0, len(prepared), BATCH)]
        return np.concatenate(parts).astype(np.float32)

    def classify(self, crops: np.ndarray) -> np.ndarray:
        """Calibrated probabilities, (N, 7), columns in `EMOTIONS` order."""
        return softmax(self.logits(crops), self.info.temperature)


def _load(weights: Path, mirror: bool):
    """The network as one traced function of a (N, 48, 48, 1) batch, warmed up so its first use is quick."""
    import keras
    import tensorflow as tf  # heavy: only once a face must be read

    try:
        network = keras.models.load_model(weights, compile=False)
    except Exception as error:  # keras raises many kinds for a missing or corrupt file
        raise ModelError(f"{weights}: cannot load the expression model ({error})") from None

    @tf.function(input_signature=[tf.TensorSpec([None, CROP_SIZE, CROP_SIZE, 1], tf.float32)], autograph=False)
    def logits(batch):
        if not mirror:
            return network(batch, training=False)
        both = network(tf.concat([batch, tf.reverse(batch, axis=[2])], axis=0), training=False)
        plain, mirrored = tf.split(both, 2, axis=0)
        return (plain + mirrored) / 2

    logits(np.zeros((1, CROP_SIZE, CROP_SIZE, 1), np.float32))
    return logits


@cache
def shipped_model() -> ExpressionModel:
    """The shipped model, loaded once per process."""
    return ExpressionModel()


def classify_crops(crops: np.ndarray) -> np.ndarray:
    """Calibrated expression probabilities for grey 48x48 face crops framed like FER2013's.

    `crops` is uint8 (N, 48, 48); the result is float (N, 7), columns angry, disgust, fear, happy, sad, surprise,
    neutral, each row summing to 1.
    """
    return shipped_model().classify(crops)
