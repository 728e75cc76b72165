"""Read expressions: the shipped CNN turns grey 48x48 face crops into calibrated probabilities.

The model ships in `models/` as a LiteRT (TensorFlow Lite) file plus `expression-model.json`, which holds its
version, the fitted temperature and the views of each face it reads (as is, mirrored, zoomed in). LiteRT
imports in a tenth of a second, runs a face in about a millisecond and keeps TensorFlow (training only) out of
the runtime; a `.tflite` file is a flat buffer of operators and weights, so loading one cannot run code.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np

from emotag.crops import prepare_crops
from emotag.emotions import CROP_SIZE, EMOTIONS
from emotag.errors import ModelError

MODEL_CARD_FILE = "expression-model.json"
BATCH = 256
VIEWS = ("plain", "mirror", "zoom", "zoom mirror")
"""Ways to read one face; the model card says which the shipped model averages (test-time augmentation)."""
ZOOM = 1.1
"""The zoomed views magnify the crop 1.1 times about its centre: within the training augmentation's 12%."""


def model_folder() -> Path:
    """Where the shipped model lives: `$EMOTAG_MODEL_DIR`; else the copy an installed emotag carries in
    `emotag/model/` (made from `models/` when the wheel is built: setup.py); else `models/` of a checkout."""
    override = os.environ.get("EMOTAG_MODEL_DIR")
    if override:
        return Path(override)
    package = Path(__file__).resolve().parent
    bundled = package / "model"
    return bundled if (bundled / MODEL_CARD_FILE).is_file() else package.parent / "models"


@contextmanager
def native_stderr_silenced():
    """Send what C++ libraries print to stderr to /dev/null for a while, unless emotag logs verbosely.

    Native libraries print before any setting can quiet them; Python exceptions are unaffected.
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
    runtime: str  # the file the runtime loads: `.tflite`
    temperature: float
    views: tuple[str, ...]
    thresholds: dict[str, float] = field(default_factory=dict)  # per emotion, chosen for this model

    @classmethod
    def read(cls, folder: Path) -> ModelInfo:
        path = folder / MODEL_CARD_FILE
        try:
            data = json.loads(path.read_text())
            views = tuple(str(view) for view in data["views"])
            if not views or not set(views) <= set(VIEWS):
                raise ValueError(f"views must be some of {', '.join(VIEWS)}")
            thresholds = {str(e): float(t) for e, t in data.get("thresholds", {}).items()}
            if not set(thresholds) <= set(EMOTIONS) or not all(0 <= t <= 1 for t in thresholds.values()):
                raise ValueError("thresholds must be emotions' names with numbers from 0 to 1")
            return cls(str(data["version"]), str(data["runtime"]), float(data["temperature"]), views, thresholds)
        except FileNotFoundError:
            raise ModelError(f"{path}: the expression model is missing; reinstall emotag") from None
        except (ValueError, KeyError, TypeError) as error:
            raise ModelError(f"{path}: damaged model description ({error}); reinstall emotag") from None


def model_version() -> str:
    """The shipped model's version, from its description alone (cheap: nothing is loaded)."""
    return ModelInfo.read(model_folder()).version


def model_thresholds() -> dict[str, float]:
    """The shipped model's threshold for each emotion's tag, from its description (empty for an older card)."""
    return ModelInfo.read(model_folder()).thresholds


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    scaled = logits / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=1, keepdims=True)


def default_threads() -> int:
    """Threads for one model: `$EMOTAG_THREADS`, else every core this process may use."""
    if os.environ.get("EMOTAG_THREADS", "").isdigit():
        return max(1, int(os.environ["EMOTAG_THREADS"]))
    return usable_cores()


def usable_cores() -> int:
    """The cores this process may run on (a container's or `taskset`'s limit, not the machine's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def runtime_file(folder: Path, info: ModelInfo) -> Path:
    """The network file the model's description names; ModelError, in one line, when it is missing."""
    runtime = folder / info.runtime
    if not runtime.is_file():
        raise ModelError(f"{runtime}: the expression model is missing; reinstall emotag")
    return runtime


class ExpressionModel:
    """A loaded expression model. Build one per process and use it from one thread at a time."""

    def __init__(self, folder: Path | None = None, threads: int | None = None):
        folder = folder or model_folder()
        self.info = ModelInfo.read(folder)
        self._network = _load(runtime_file(folder, self.info), threads or default_threads())
        self._input = self._network.get_input_details()[0]["index"]
        self._output = self._network.get_output_details()[0]["index"]
        self._batch = 0

    @property
    def version(self) -> str:
        return self.info.version

    def logits(self, crops: np.ndarray) -> np.ndarray:
        """Uncalibrated logits, (N, 7), for uint8 crops (N, 48, 48), averaged over the model's views."""
        prepared = prepare_crops(crops)
        if len(prepared) == 0:
            return np.zeros((0, len(EMOTIONS)), dtype=np.float32)
        return np.concatenate([self._run(prepared[i : i + BATCH]) for i in range(0, len(prepared), BATCH)])

    def classify(self, crops: np.ndarray) -> np.ndarray:
        """Calibrated probabilities, (N, 7), columns in `EMOTIONS` order."""
        return softmax(self.logits(crops), self.info.temperature)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        logits = self._invoke(np.concatenate([view(batch, name) for name in self.info.views]))
        return logits.reshape(len(self.info.views), len(batch), -1).mean(axis=0)

    def _invoke(self, batch: np.ndarray) -> np.ndarray:
        if len(batch) != self._batch:  # resizing re-plans the network: only when the batch size changes
            self._network.resize_tensor_input(self._input, [len(batch), CROP_SIZE, CROP_SIZE, 1])
            self._network.allocate_tensors()
            self._batch = len(batch)
        self._network.set_tensor(self._input, np.ascontiguousarray(batch, dtype=np.float32))
        self._network.invoke()
        return self._network.get_tensor(self._output).astype(np.float32)


def view(batch: np.ndarray, name: str) -> np.ndarray:
    """One of `VIEWS` of a prepared batch (N, 48, 48, 1)."""
    seen = zoomed(batch) if name.startswith("zoom") else batch
    return seen[:, :, ::-1] if name.endswith("mirror") else seen


def zoomed(batch: np.ndarray) -> np.ndarray:
    """The batch magnified `ZOOM` times about the crop's centre, bilinear (no pixel falls outside the crop)."""
    low, high, weight = _zoom_sampling(batch.shape[1], ZOOM)
    rows = batch[:, low] * (1 - weight)[None, :, None, None] + batch[:, high] * weight[None, :, None, None]
    return rows[:, :, low] * (1 - weight)[None, None, :, None] + rows[:, :, high] * weight[None, None, :, None]


@cache
def _zoom_sampling(size: int, zoom: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    centre = (size - 1) / 2
    source = centre + (np.arange(size) - centre) / zoom
    low = np.floor(source).astype(int)
    return low, np.minimum(low + 1, size - 1), (source - low).astype(np.float32)


def _load(runtime: Path, threads: int):
    """The LiteRT interpreter for the shipped network."""
    from ai_edge_litert.interpreter import Interpreter

    try:
        with native_stderr_silenced():  # LiteRT announces its CPU delegate on stderr
            network = Interpreter(model_path=str(runtime), num_threads=threads)
            network.allocate_tensors()
    except (ValueError, RuntimeError) as error:  # LiteRT's words for a damaged or foreign file
        raise ModelError(f"{runtime}: cannot load the expression model ({error}); reinstall emotag") from None
    shape = tuple(network.get_input_details()[0]["shape"][1:])
    if shape != (CROP_SIZE, CROP_SIZE, 1) or network.get_output_details()[0]["shape"][-1] != len(EMOTIONS):
        raise ModelError(f"{runtime}: not an expression model for {CROP_SIZE}x{CROP_SIZE} grey faces")
    return network


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
