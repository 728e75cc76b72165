"""Time the eye reading per face: 68 landmarks, two eye patches, the linear reading.

    python bench/eyes_speed.py [--rounds 200]

Faces are those the detector finds in the sample photos (and in ../shared/data/photos where it exists); each is
read `--rounds` times and the median of the rounds is reported, in ms per face. The target is 3 ms. Run it on an
idle machine: a figure taken beside other work is slower than the reading itself.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emotag.eyes import EyeReader  # noqa: E402
from emotag.faces import FaceFinder  # noqa: E402
from emotag.photos import is_photo, read_photo  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    folders = [ROOT / "samples", ROOT.parent / "shared" / "data" / "photos"]
    finder, reader = FaceFinder(), EyeReader()
    faces = []
    for folder in folders:
        for path in sorted(folder.glob("*")) if folder.is_dir() else []:
            if is_photo(path):
                photo = read_photo(path)
                faces += [(photo, face) for face in finder.find(photo) if face.readable]
    reader.read_face(*faces[0])  # the first reading loads the fitted weights
    rounds = []
    for _ in range(args.rounds):
        started = time.perf_counter()
        for photo, face in faces:
            reader.read_face(photo, face)
        rounds.append((time.perf_counter() - started) / len(faces) * 1000)
    told = sum(reader.read_face(photo, face) is not None for photo, face in faces)
    print(
        f"{len(faces)} faces ({told} with eyes to read), {args.rounds} rounds: "
        f"median {statistics.median(rounds):.2f} ms per face, fastest round {min(rounds):.2f} ms"
    )


if __name__ == "__main__":
    main()
