"""Read whether a face's eyes are open or closed: dlib's 68 landmarks, then a small linear reading of each eye.

Each eye is cut from the photo's grey image so that its two corners land on fixed points of a 24x12 patch (the
right eye mirrored), and read by one logistic model over the patch's contrast-normalised pixels and the eye
aspect ratio of its six landmarks (Soukupova and Cech 2016). The face's reading is the mean of its two eyes. The
eye aspect ratio alone, the classic cheap method, misses too many closed eyes (`bench/eyes_accuracy.py`); the
weights (`eyes_model.json`) are fitted by that script. A face too small, or turned so far that one eye hides
behind the nose, is not read: its eyes are "cannot be told".
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from emotag.errors import ModelError
from emotag.faces import similarity
from emotag.timing import stage

MODEL_FILE = Path(__file__).with_name("eyes_model.json")
PATCH_WIDTH, PATCH_HEIGHT = 24, 12
CORNERS = np.array([[4.0, 6.0], [20.0, 6.0]])
"""Where an eye's two corners sit in its patch."""
SUPERSAMPLE = 4
MIN_FACE = 64
"""Faces narrower than this in the image faces are found in (pixels) are not read. Shrunk to 48 pixels, 3.7% of
open eyes read as closed; at 64, 1.4%; at 96, 1.2% (`bench/eyes_accuracy.py --widths`)."""
MAX_TURN = 3.5
"""A face is not read when the nose is this many times nearer one side of the jaw than the other: turned away,
one eye hidden."""
LEFT_EYE, RIGHT_EYE = slice(36, 42), slice(42, 48)


@dataclass(frozen=True)
class EyeReading:
    """A face's eyes: `closed` is a 0-1 score; 0.5 and above reads as closed (emotag's own cut-off)."""

    closed: float

    @property
    def state(self) -> str:
        return "closed" if self.closed >= 0.5 else "open"


@dataclass(frozen=True)
class EyeModel:
    """The fitted reading: features are standardised by `mean` and `spread`, then weighted; `cut` is where the
    logit reads as closed (the score is 0.5 there)."""

    mean: np.ndarray
    spread: np.ndarray
    weights: np.ndarray
    bias: float
    cut: float
    version: str

    @classmethod
    def read(cls, path: Path = MODEL_FILE) -> EyeModel:
        data = json.loads(path.read_text())
        return cls(
            np.array(data["mean"]),
            np.array(data["spread"]),
            np.array(data["weights"]),
            float(data["bias"]),
            float(data["cut"]),
            str(data["version"]),
        )

    def logit(self, features: np.ndarray) -> np.ndarray:
        return ((features - self.mean) / self.spread) @ self.weights + self.bias


@cache
def eye_model() -> EyeModel:
    return EyeModel.read()


def eyes_version() -> str:
    """The eye reading's version: a photo read by another (or none) has its eyes read again once."""
    return eye_model().version


def landmark68_path() -> Path:
    """dlib's 68-point landmark model, shipped beside the five-point one in face-recognition-models."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the face-recognition-models package is missing: pip install face-recognition-models")
    path = Path(spec.submodule_search_locations[0]) / "models" / "shape_predictor_68_face_landmarks.dat"
    if not path.is_file():
        raise ModelError(f"{path}: dlib's 68-point landmark model is missing; reinstall face-recognition-models")
    return path


def aspect_ratio(eye: np.ndarray) -> float:
    """The eye aspect ratio of six eye landmarks: the lids' distance over the corners' distance."""
    lids = np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4])
    return float(lids / (2 * max(1e-6, np.linalg.norm(eye[0] - eye[3]))))


def eye_patch(grey: np.ndarray, corner_a: np.ndarray, corner_b: np.ndarray) -> np.ndarray:
    """The uint8 (12, 24) patch in which the two eye corners fall on `CORNERS`."""
    # cut from a small region around the eye: Pillow copies the whole image it is given
    reach = int(np.linalg.norm(corner_b - corner_a)) + 2
    middle = (corner_a + corner_b) / 2
    x0, y0 = (max(0, int(v) - reach) for v in middle)
    grey = grey[y0 : int(middle[1]) + reach, x0 : int(middle[0]) + reach]
    corners = np.array([corner_a, corner_b]) - (x0, y0)
    to_patch = similarity(corners, CORNERS * SUPERSAMPLE)
    inverse = np.linalg.inv(np.vstack([to_patch, [0, 0, 1]]))[:2]
    chip = Image.fromarray(grey).transform(
        (PATCH_WIDTH * SUPERSAMPLE, PATCH_HEIGHT * SUPERSAMPLE),
        Image.Transform.AFFINE,
        inverse.flatten().tolist(),
        resample=Image.Resampling.BILINEAR,
    )
    return np.asarray(chip.reduce(SUPERSAMPLE), dtype=np.uint8)


def eye_features(grey: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(2, 289) features, one row per eye: the patch's contrast-normalised pixels, then 10x its aspect ratio."""
    left = eye_patch(grey, points[36], points[39])
    right = eye_patch(grey, points[42], points[45])[:, ::-1]  # mirrored: both eyes read by one model
    rows = []
    for patch, eye in ((left, points[LEFT_EYE]), (right, points[RIGHT_EYE])):
        values = patch.reshape(-1).astype(np.float64)
        values = (values - values.mean()) / (values.std() + 8.0)
        rows.append(np.append(values, 10.0 * aspect_ratio(eye)))
    return np.stack(rows)


def turned_away(points: np.ndarray) -> bool:
    """Whether the nose tip is so much nearer one side of the jaw than the other that an eye is out of sight."""
    nose = points[30]
    left, right = np.linalg.norm(nose - points[0]), np.linalg.norm(nose - points[16])
    return max(left, right) > MAX_TURN * max(1e-6, min(left, right))


class EyeReader:
    """dlib's 68-point landmark model (built once: about 0.1 s) and the fitted eye reading."""

    def __init__(self):
        import dlib

        self._landmarks = dlib.shape_predictor(str(landmark68_path()))
        self._dlib = dlib

    def landmarks(self, grey: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        """The 68 landmarks (68, 2) of the face in `box` (left, top, width, height in `grey`'s pixels)."""
        left, top, width, height = (int(round(v)) for v in box)
        # the predictor is given the face and a margin, not the photo: dlib copies the whole image it is given
        margin = width // 2
        x0, y0 = max(0, left - margin), max(0, top - margin)
        region = np.ascontiguousarray(grey[y0 : top + height + margin, x0 : left + width + margin])
        rectangle = self._dlib.rectangle(left - x0, top - y0, left - x0 + width, top - y0 + height)
        shape = self._landmarks(region, rectangle)
        return np.array([(p.x + x0, p.y + y0) for p in shape.parts()], dtype=np.float64)

    def read(self, grey: np.ndarray, box: tuple[int, int, int, int]) -> EyeReading | None:
        """The eyes of the face in `box` (in `grey`'s pixels); None when they cannot be told."""
        if box[2] < MIN_FACE:
            return None
        with stage("eyes"):
            points = self.landmarks(grey, box)
            if turned_away(points):
                return None
            model = eye_model()
            logit = float(model.logit(eye_features(grey, points)).mean())
        return EyeReading(closed=float(1.0 / (1.0 + np.exp(-(logit - model.cut)))))

    def read_face(self, photo, face) -> EyeReading | None:
        """The eyes of a face `FaceFinder` found in `photo` (its box is in the photo's displayed pixels)."""
        left, top, width, height = face.box
        scale = photo.scale
        return self.read(photo.grey, (left * scale, top * scale, width * scale, height * scale))
