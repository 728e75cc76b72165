"""Measure "look alike" for bursts on real photos: shots of one scene against different photos.

    python bench/bursts_alike.py

A burst is made from each photo of ../shared/data/photos and a sample of ../shared/data/labelled by what a
burst does to a scene: the frame moved by 1-4% and zoomed by up to 4%, exposure changed by up to 8%. Each shot
is compared with the photo it came from; different photos are compared in every pair. Prints the differences
(emotag.bursts.difference) of both, and how many of each side the cut-off emotag.bursts.ALIKE puts right.
"""

from __future__ import annotations

import sys
import tempfile
from itertools import combinations
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emotag.bursts import ALIKE, difference, look  # noqa: E402
from emotag.photos import is_photo  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def shot_of(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Another shot of the same scene: moved, zoomed a little, exposed a little differently."""
    width, height = image.size
    zoom = 1 - rng.uniform(0, 0.04)
    w, h = int(width * zoom * 0.96), int(height * zoom * 0.96)
    dx, dy = (rng.uniform(-0.02, 0.02, 2) * (width, height)).astype(int)
    left, top = (width - w) // 2 + dx, (height - h) // 2 + dy
    crop = image.crop((left, top, left + w, top + h)).resize((width, height), Image.Resampling.BILINEAR)
    return ImageEnhance.Brightness(crop).enhance(1 + rng.uniform(-0.08, 0.08))


def main() -> None:
    rng = np.random.default_rng(0)
    photos = sorted(p for p in (DATA / "photos").iterdir() if is_photo(p))
    photos += sorted((DATA / "labelled" / "photos").iterdir())[::10]
    same, other = [], []
    looks = []
    with tempfile.TemporaryDirectory() as folder:
        for number, path in enumerate(photos):
            with Image.open(path) as image:
                original = ImageOps.exif_transpose(image).convert("RGB")
            first = look(path)
            looks.append(first)
            for k in range(3):
                shot = Path(folder, f"{number}_{k}.jpg")
                shot_of(original, rng).save(shot, quality=90)
                same.append(difference(first, look(shot)))
    for a, b in combinations(range(len(looks)), 2):
        other.append(difference(looks[a], looks[b]))
    same, other = np.array(same), np.array(other)
    print(f"{len(photos)} photos; {len(same)} shots of the same scene, {len(other)} pairs of different photos")
    for name, values in (("same scene", same), ("different photos", other)):
        q = np.percentile(values, [0, 1, 5, 50, 95, 99, 100])
        print(
            f"  {name}: min {q[0]:.3f}, 1% {q[1]:.3f}, 5% {q[2]:.3f}, median {q[3]:.3f}, 95% {q[4]:.3f}, "
            f"99% {q[5]:.3f}, max {q[6]:.3f}"
        )
    print(
        f"cut-off {ALIKE}: same scene read as alike {np.mean(same < ALIKE):.1%}, "
        f"different photos read as alike {np.mean(other < ALIKE):.2%} ({(other < ALIKE).sum()} pairs)"
    )


if __name__ == "__main__":
    main()
