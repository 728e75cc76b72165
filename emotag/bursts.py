"""Bursts: photos taken within a few seconds of each other that also look alike, and the best shot of each.

When a photo was taken comes from EXIF (`DateTimeOriginal` with `SubSecTimeOriginal`), else from the file's
modification time. Whether two photos look alike is the mean difference of their 16x16 grey thumbnails, each
brought to zero mean and unit spread (so a change of exposure is no difference): shots of one scene moved or
zoomed by a few percent differ by 0.08-0.42, different photos by 0.58 and more in 99 pairs of 100
(`bench/bursts_alike.py`).
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image, ImageOps

from emotag.photos import is_raw

BURST_SECONDS = 2.0
"""Two shots at most this far apart (each from the one before) can be one burst."""
ALIKE = 0.5
"""Thumbnail difference under which two shots look alike (see the module's docstring)."""
LOOK_SIZE = 16
EMOTION_TIE = 0.05
"""Shots of a burst whose emotion strength is within this of the best one's are told apart by sharpness."""

T = TypeVar("T")


@dataclass
class Shot:
    """A photo as a burst sees it: when it was taken and what it looks like at a glance."""

    path: Path
    taken: float
    look: np.ndarray | None  # None: the photo cannot be read, so it looks like nothing else


def taken_at(path: Path) -> float:
    """When the photo was taken, in seconds: EXIF DateTimeOriginal and SubSecTimeOriginal, else the file's time."""
    import exifread

    try:
        with open(path, "rb") as file, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tags = exifread.process_file(file, details=False, extract_thumbnail=False)
        when = datetime.strptime(str(tags["EXIF DateTimeOriginal"]).strip(), "%Y:%m:%d %H:%M:%S")
        fraction = str(tags.get("EXIF SubSecTimeOriginal", "")).strip()
        seconds = when.timestamp()
        if fraction.isdigit():
            seconds += int(fraction) / 10 ** len(fraction)
        return seconds
    except Exception:  # no EXIF, no date, a date ExifTool wrote as "0000:00:00": the file's own time
        return os.stat(path).st_mtime


def look(path: Path, preview_reader=None) -> np.ndarray | None:
    """The photo at a glance: a 16x16 grey thumbnail, zero mean and unit spread; None if it cannot be read."""
    try:
        source = io.BytesIO(preview_reader(path)[0]) if is_raw(path) and preview_reader else path
        with warnings.catch_warnings(), Image.open(source) as image:
            warnings.simplefilter("ignore")
            image.draft("L", (LOOK_SIZE * 8, LOOK_SIZE * 8))
            small = ImageOps.exif_transpose(image).convert("L").resize((LOOK_SIZE, LOOK_SIZE), Image.Resampling.BOX)
    except Exception:
        return None
    values = np.asarray(small, dtype=np.float64)
    return (values - values.mean()) / (values.std() + 1.0)


def difference(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """How unalike two looks are: the mean absolute difference of their thumbnails (infinite when one is None)."""
    if a is None or b is None:
        return float("inf")
    return float(np.abs(a - b).mean())


def group_bursts(shots: Sequence[Shot]) -> list[list[Shot]]:
    """Shots in bursts, in time order: a shot joins the burst before it when it was taken at most BURST_SECONDS
    after that burst's last shot and looks like it."""
    bursts: list[list[Shot]] = []
    for shot in sorted(shots, key=lambda s: (s.taken, str(s.path))):
        last = bursts[-1][-1] if bursts else None
        if last and shot.taken - last.taken <= BURST_SECONDS and difference(shot.look, last.look) < ALIKE:
            bursts[-1].append(shot)
        else:
            bursts.append([shot])
    return bursts


def best_of(candidates: Sequence[T], eyes_open: Callable[[T], bool], strength: Callable[[T], float], sharpness) -> T:
    """The best shot: every readable face with its eyes open first, then the emotion's strength; shots within
    EMOTION_TIE of the strongest are told apart by the sharpness of their faces (`sharpness`, asked only then)."""
    first = [c for c in candidates if eyes_open(c)] or list(candidates)
    strongest = max(strength(c) for c in first)
    tied = [c for c in first if strength(c) >= strongest - EMOTION_TIE]
    if len(tied) == 1:
        return tied[0]
    return max(tied, key=lambda c: (sharpness(c), strength(c)))


def face_sharpness(grey: np.ndarray, boxes: list[list[float]]) -> float:
    """How sharp the faces are: the variance of the Laplacian of each face (boxes normalised to the photo),
    each face brought to 64x64 first so sizes compare; the mean over faces (0 without faces)."""
    height, width = grey.shape
    values = []
    for x, y, w, h in boxes:
        left, top = int(x * width), int(y * height)
        right, bottom = max(left + 2, int((x + w) * width)), max(top + 2, int((y + h) * height))
        face = Image.fromarray(grey[top:bottom, left:right]).resize((64, 64), Image.Resampling.BILINEAR)
        f = np.asarray(face, dtype=np.float64)
        laplacian = f[1:-1, :-2] + f[1:-1, 2:] + f[:-2, 1:-1] + f[2:, 1:-1] - 4 * f[1:-1, 1:-1]
        values.append(float(laplacian.var()))
    return float(np.mean(values)) if values else 0.0
