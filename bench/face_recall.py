"""Face recall and false faces at several working sizes, on the hand-boxed development photos.

    python bench/face_recall.py [--photos ../shared/data/photos] [--sizes 1000 1280 1600]

Recall: share of the hand-drawn boxes in dlib_faces_*.xml matched by a found face (intersection over union >= 0.3),
at the photos' own size and scaled up to 12 MP. False faces: faces found in the photos listed as having none.
"""

from __future__ import annotations

import argparse
import csv
import io
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from PIL import Image

from emotag.faces import FaceFinder
from emotag.photos import decode

DEFAULT_PHOTOS = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "photos"


def hand_boxes(folder: Path) -> dict[str, list[tuple[int, int, int, int]]]:
    boxes: dict[str, list] = {}
    for name in ("dlib_faces_training.xml", "dlib_faces_testing.xml"):
        for image in ET.parse(folder / name).getroot().iter("image"):
            key = "dlib__" + Path(image.get("file")).name
            boxes.setdefault(key, []).extend(
                (int(b.get("left")), int(b.get("top")), int(b.get("width")), int(b.get("height")))
                for b in image.iter("box")
            )
    return boxes


def overlap(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = w * h
    return inter / (aw * ah + bw * bh - inter)


def scaled_source(path: Path, megapixels: float | None):
    """The photo file, or a JPEG of it scaled up to `megapixels` (as a camera would have taken it)."""
    if not megapixels:
        return path, 1.0
    with Image.open(path) as image:
        factor = (megapixels * 1e6 / (image.width * image.height)) ** 0.5
        big = image.convert("RGB").resize(
            (round(image.width * factor), round(image.height * factor)), Image.Resampling.BICUBIC
        )
    buffer = io.BytesIO()
    big.save(buffer, "JPEG", quality=90)
    buffer.seek(0)
    return buffer, factor


def measure(folder: Path, long_side: int, megapixels: float | None, finder: FaceFinder) -> dict:
    found = total = 0
    seconds = 0.0
    for name, truth in hand_boxes(folder).items():
        source, factor = scaled_source(folder / name, megapixels)
        started = time.perf_counter()
        photo = decode(source, long_side, folder / name)
        faces = finder.find(photo)
        seconds += time.perf_counter() - started
        boxes = [tuple(v / factor for v in face.box) for face in faces]
        total += len(truth)
        found += sum(any(overlap(t, b) >= 0.3 for b in boxes) for t in truth)
    false_faces = 0
    with open(folder / "sources.csv") as handle:
        for row in csv.DictReader(handle):
            if row["faces"] == "none":
                source, _ = scaled_source(folder / row["file"], megapixels)
                false_faces += len(finder.find(decode(source, long_side, folder / row["file"])))
    return {"recall": found / total, "faces": total, "false_faces": false_faces, "ms_per_photo": 1000 * seconds / 9}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 1280, 1600])
    args = parser.parse_args()
    finder = FaceFinder(min_face=0)
    print(f"{'long side':>9} {'scale':>8} {'recall':>7} {'faces':>5} {'false':>5} {'ms/photo':>8}")
    for long_side in args.sizes:
        for megapixels in (None, 12):
            row = measure(args.photos, long_side, megapixels, finder)
            label = "12 MP" if megapixels else "own"
            print(
                f"{long_side:>9} {label:>8} {row['recall']:>7.3f} {row['faces']:>5} {row['false_faces']:>5} "
                f"{row['ms_per_photo']:>8.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
