"""Load FER2013 from any of the three layouts people have it in.

- the `.npz` archives in `../shared/data/fer2013/` (images, labels, FER+ votes);
- Kaggle's original `fer2013.csv` (columns emotion, pixels, Usage);
- the image-folder re-packaging, `train/<emotion>/*.jpg` and `test/<emotion>/*.jpg`.

Each loader returns a `FaceSet`: plain arrays, FER2013's label order (`emotag.emotions.EMOTIONS`).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from emotag.emotions import CROP_SIZE, EMOTIONS

# FER+ vote columns: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF.
# Where each of FER2013's seven classes sits among them (contempt, unknown and NF have no FER2013 class).
FERPLUS_COLUMN_OF = {"angry": 4, "disgust": 5, "fear": 6, "happy": 1, "sad": 3, "surprise": 2, "neutral": 0}
FERPLUS_NOT_A_FACE = 9

CSV_SPLITS = {"train": "Training", "val": "PublicTest", "test": "PrivateTest"}
FOLDER_SPLITS = {"train": "train", "val": "test", "test": "test"}


@dataclass
class FaceSet:
    """Grey 48x48 face crops with FER2013 labels and, where known, FER+ votes in FER2013's order."""

    images: np.ndarray  # uint8 (N, 48, 48)
    labels: np.ndarray  # int64 (N,)
    votes: np.ndarray | None = None  # float32 (N, 7): FER+ votes for the seven classes, or None
    not_face: np.ndarray | None = None  # bool (N,): FER+ annotators said "not a face"

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, keep: np.ndarray) -> FaceSet:
        votes = None if self.votes is None else self.votes[keep]
        not_face = None if self.not_face is None else self.not_face[keep]
        return FaceSet(self.images[keep], self.labels[keep], votes, not_face)


def faces_only(faces: FaceSet) -> FaceSet:
    """Drop the images the FER+ crowd called "not a face" (151 of FER2013's 28,709 training images)."""
    return faces if faces.not_face is None else faces.subset(~faces.not_face)


def soft_targets(faces: FaceSet, label_share: float) -> np.ndarray:
    """What the crowd saw in each face: the FER+ vote shares over the seven emotions, plus `label_share` of
    FER2013's own label.

    Ten people per face are the truth a tag is for; FER2013's single label agrees with their top choice on only
    65% of faces. Votes for contempt, "unknown" and "not a face" are left out of the shares (FER2013 has no such
    class); faces with no vote among the seven keep FER2013's label alone. A small share of the label breaks the
    crowd's near-ties towards it and keeps fear and disgust, which the crowd seldom picks, readable.
    """
    targets = np.eye(len(EMOTIONS), dtype=np.float32)[faces.labels]
    if faces.votes is None or label_share >= 1:
        return targets
    totals = faces.votes.sum(axis=1, keepdims=True)
    voted = totals[:, 0] > 0
    share = np.divide(faces.votes, totals, out=np.zeros_like(faces.votes), where=totals > 0)
    targets[voted] = label_share * targets[voted] + (1 - label_share) * share[voted]
    return targets


def crowd_majority(faces: FaceSet) -> np.ndarray:
    """The crowd's top choice for each face as a target (N, 7): ties split evenly, FER2013's label where no vote.

    A confidence of 0.8 should mean that the crowd's majority says so for eight faces in ten: the temperature is
    fitted to this, and calibration is measured against it.
    """
    targets = np.eye(len(EMOTIONS), dtype=np.float32)[faces.labels]
    if faces.votes is None:
        return targets
    voted = faces.votes.sum(axis=1) > 0
    top = (faces.votes == faces.votes.max(axis=1, keepdims=True)).astype(np.float32)
    targets[voted] = top[voted] / top[voted].sum(axis=1, keepdims=True)
    return targets


def load(source: str | Path, split: str) -> FaceSet:
    """Load `split` ("train", "val" or "test") from a folder of `.npz` archives, a `fer2013.csv`, or image folders."""
    source = Path(source)
    if source.is_file() and source.suffix == ".csv":
        return load_csv(source, split)
    if source.is_file() and source.suffix == ".npz":
        return load_npz(source)
    if (source / FOLDER_SPLITS[split]).is_dir():
        return load_folders(source / FOLDER_SPLITS[split])
    archives = {"train": "fer2013_train.npz", "val": "fer2013_publictest.npz", "test": "fer2013_privatetest.npz"}
    archive = source / archives[split]
    if archive.is_file():
        return load_npz(archive)
    raise FileNotFoundError(f"{source}: no FER2013 {split} split here (.npz archives, fer2013.csv or image folders)")


def load_npz(path: Path) -> FaceSet:
    """Read one of the shared `.npz` archives, FER+ votes included."""
    with np.load(path) as archive:
        images = archive["images"].astype(np.uint8)
        labels = archive["labels"].astype(np.int64)
        votes = None
        not_face = None
        if "ferplus_votes" in archive.files:
            raw = archive["ferplus_votes"].astype(np.float32)
            votes = raw[:, [FERPLUS_COLUMN_OF[e] for e in EMOTIONS]]
            not_face = raw[:, FERPLUS_NOT_A_FACE] > raw[:, :FERPLUS_NOT_A_FACE].sum(axis=1)
    return FaceSet(images, labels, votes, not_face)


def load_csv(path: Path, split: str) -> FaceSet:
    """Read Kaggle's `fer2013.csv`: space-separated pixels, one face a row, `Usage` naming the split."""
    usage = CSV_SPLITS[split]
    images, labels = [], []
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            if row["Usage"] != usage:
                continue
            pixels = np.array(row["pixels"].split(), dtype=np.uint8)
            images.append(pixels.reshape(CROP_SIZE, CROP_SIZE))
            labels.append(int(row["emotion"]))
    if not images:
        raise ValueError(f"{path}: no rows with Usage={usage}")
    return FaceSet(np.stack(images), np.array(labels, dtype=np.int64))


def load_folders(folder: Path) -> FaceSet:
    """Read `<folder>/<emotion>/*.{jpg,png}`; emotion folder names as in FER2013 (angry, disgust, ...)."""
    images, labels = [], []
    for label, emotion in enumerate(EMOTIONS):
        for path in sorted((folder / emotion).glob("*")):
            if path.suffix.lower() not in {".jpg", ".jpeg", ".png"}:
                continue
            with Image.open(path) as image:
                grey = image.convert("L")
                if grey.size != (CROP_SIZE, CROP_SIZE):
                    grey = grey.resize((CROP_SIZE, CROP_SIZE), Image.Resampling.BILINEAR)
                images.append(np.asarray(grey, dtype=np.uint8))
            labels.append(label)
    if not images:
        raise ValueError(f"{folder}: no images under {', '.join(EMOTIONS)} sub-folders")
    return FaceSet(np.stack(images), np.array(labels, dtype=np.int64))
