"""Measure how FER2013 frames a face, so emotag can cut crops from photos that look the same.

`template`: finds the five dlib landmarks in FER2013 training faces (upscaled 4x so HOG sees them) and stores
their mean positions in `emotag/face_template.json`; `emotag.faces.cut_crop` maps every face onto them.

`check`: re-cuts validation faces through the photo pipeline's own `cut_crop`, at the template's framing and
zoomed in and out of it, and scores the shipped model on each, beside the original crops. The best framing is
the one whose accuracy comes closest to the original crops'.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from emotag.emotions import CROP_SIZE
from emotag.faces import TEMPLATE_FILE, FaceFinder, cut_crop
from model_training.data import FaceSet

UPSCALE = 4


def upscaled(image: np.ndarray) -> np.ndarray:
    size = CROP_SIZE * UPSCALE
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BICUBIC))


def find_landmarks(faces: FaceSet, finder: FaceFinder, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Landmarks (in 48x48 crop pixels) of the first `limit` faces where dlib finds exactly one face."""
    found, which = [], []
    for i, image in enumerate(faces.images[:limit]):
        big = upscaled(image)
        boxes = finder.locate(big)
        if len(boxes) != 1:
            continue
        found.append(finder.landmarks(big, boxes[0]) / UPSCALE)
        which.append(i)
    return np.array(found), np.array(which, dtype=int)


def measure_template(faces: FaceSet, limit: int = 4000) -> dict:
    """Mean landmark positions over FER2013 training faces, with their spread."""
    points, _ = find_landmarks(faces, FaceFinder(min_face=0), limit)
    return {
        "landmarks": np.round(points.mean(axis=0), 3).tolist(),
        "spread": np.round(points.std(axis=0), 3).tolist(),
        "faces_measured": int(len(points)),
        "faces_tried": int(min(limit, len(faces))),
        "source": "FER2013 Training, dlib HOG + shape_predictor_5_face_landmarks on 4x bicubic upscales",
    }


def write_template(template: dict, path: Path = TEMPLATE_FILE) -> None:
    path.write_text(json.dumps(template, indent=2) + "\n")


def check_framing(faces: FaceSet, classify, limit: int = 2000, zooms=(0.8, 0.9, 1.0, 1.1, 1.2)) -> list[dict]:
    """Accuracy of `classify` on original crops and on crops re-cut at each zoom of the template."""
    from emotag.faces import face_template

    points, which = find_landmarks(faces, FaceFinder(min_face=0), limit)
    labels = faces.labels[which]
    template = face_template()
    centre = template.mean(axis=0)
    original = float((classify(faces.images[which]).argmax(1) == labels).mean())
    rows = [{"framing": "original FER2013 crops", "accuracy": original}]
    for zoom in zooms:
        zoomed = centre + (template - centre) * zoom
        crops = np.stack([cut_crop(upscaled(faces.images[i]), p * UPSCALE, zoomed) for i, p in zip(which, points)])
        accuracy = float((classify(crops).argmax(1) == labels).mean())
        rows.append({"framing": f"re-cut, template zoom {zoom:.1f}", "accuracy": accuracy})
    for row in rows:
        row["faces"] = int(len(which))
    return rows
