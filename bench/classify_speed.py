"""How fast the shipped model reads faces through `emotag.classify_crops`, once loaded.

    python bench/classify_speed.py [--rounds 20]

Prints faces a second in batches of 256 and milliseconds for a single face (median of the rounds), plus the
load time. Targets (issue 2): 1,500 faces a second in batches of 256; under 5 ms for one face.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()

    started = time.perf_counter()
    from emotag.expressions import shipped_model

    model = shipped_model()
    crops = np.random.default_rng(0).integers(0, 255, (256, 48, 48), dtype=np.uint8)
    model.classify(crops[:1])
    model.classify(crops)
    loaded = time.perf_counter() - started

    batch_seconds, single_seconds = [], []
    for _ in range(args.rounds):
        t = time.perf_counter()
        model.classify(crops)
        batch_seconds.append(time.perf_counter() - t)
        t = time.perf_counter()
        model.classify(crops[:1])
        single_seconds.append(time.perf_counter() - t)
    rate = 256 / statistics.median(batch_seconds)
    single = 1000 * statistics.median(single_seconds)
    print(f"model {model.version} (views of each face: {', '.join(model.info.views)})")
    print(f"{'load (import + weights + first call)':<40} {loaded:8.2f} s")
    print(f"{'batches of 256':<40} {rate:8.0f} faces/s   target >= 1500")
    print(f"{'one face':<40} {single:8.2f} ms        target < 5")


if __name__ == "__main__":
    main()
