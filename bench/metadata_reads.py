"""What keeping `untag` exact costs per write: the read before a write also lists the XMP (to find empty values
ExifTool would drop), against the plain read and a separate listing. Best of N per kind, in milliseconds.

    python bench/metadata_reads.py [PHOTO] [--rounds N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from emotag.record import Metadata

SAMPLE = Path(__file__).resolve().parent.parent / "samples" / "grace-hopper.jpg"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", nargs="?", type=Path, default=SAMPLE)
    parser.add_argument("--rounds", type=int, default=200)
    options = parser.parse_args()
    with Metadata() as metadata:
        kinds = {
            "record read (tag's first look)": lambda: metadata.read(options.photo),
            "read before a write (with the XMP listed)": lambda: metadata.read(options.photo, to_write=True),
            "a separate XMP listing": lambda: metadata._empty_xmp(options.photo),
        }
        best = dict.fromkeys(kinds, float("inf"))
        for _ in range(options.rounds):
            for name, call in kinds.items():
                started = time.perf_counter()
                call()
                best[name] = min(best[name], time.perf_counter() - started)
    print(f"{options.photo.name}, best of {options.rounds}:")
    for name, seconds in best.items():
        print(f"  {name}: {seconds * 1000:.2f} ms")


if __name__ == "__main__":
    main()
