"""`emotag tag --cluster local:2` against `emotag tag --jobs 2` on the same photos (issue 8: within 15%).

    python bench/cluster.py [--photos DIR] [--copies 3] [--rounds 1] [--workers 2]

The corpus is `--copies` copies of every photo in `--photos` (default: the development photos in
../shared/data/photos when they are there) plus the samples. Each run is the real command, timed from start to
exit (start-up, model loading and shutdown included), on its own fresh copy of the corpus with its own empty data
folder, so nothing is skipped as done. Rounds alternate the two commands so that a busy neighbour hurts both alike.
Prints photos a second per run, the cluster's time over the local run's, and the rate per worker (one worker, one
core) that the README's estimate for large archives starts from. Each command is also timed on an empty folder:
its fixed cost (imports, starting and stopping workers or the cluster), which a large archive pays once.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
DEVELOPMENT_PHOTOS = ROOT.parent / "shared" / "data" / "photos"
SUFFIXES = {".jpg", ".jpeg", ".png"}


def corpus_sources(photos: Path | None) -> list[Path]:
    folders = [folder for folder in (photos or DEVELOPMENT_PHOTOS, SAMPLES) if folder.is_dir()]
    by_name = {path.name: path for folder in folders for path in folder.iterdir() if path.suffix.lower() in SUFFIXES}
    return sorted(by_name.values())


def make_corpus(sources: list[Path], copies: int, folder: Path) -> int:
    folder.mkdir(parents=True)
    for n in range(copies):
        for source in sources:
            shutil.copyfile(source, folder / f"{source.stem}-{n}{source.suffix}")
    return copies * len(sources)


def timed_run(options: list[str], sources: list[Path], copies: int, work: Path) -> tuple[int, float]:
    """Photos and seconds for one `emotag tag OPTIONS` over a fresh corpus with an empty data folder."""
    folder = Path(tempfile.mkdtemp(dir=work))
    count = make_corpus(sources, copies, folder / "photos")
    env = {**os.environ, "EMOTAG_DATA_DIR": str(folder / "data"), "EMOTAG_CONFIG": str(folder / "config.toml")}
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "emotag.cli", "tag", str(folder / "photos"), *options],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seconds = time.perf_counter() - started
    print(f"  emotag tag {' '.join(options)}: {run.stderr.strip().splitlines()[-1]} ({seconds:.1f} s)", file=sys.stderr)
    shutil.rmtree(folder)
    return count, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, help="folder of photos to copy (default: the development photos)")
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    sources = corpus_sources(args.photos)
    commands = {
        f"--jobs {args.workers}": ["--jobs", str(args.workers)],
        f"--cluster local:{args.workers}": ["--cluster", f"local:{args.workers}"],
    }
    seconds: dict[str, list[float]] = {name: [] for name in commands}
    fixed: dict[str, list[float]] = {name: [] for name in commands}
    with tempfile.TemporaryDirectory(prefix="emotag-bench-cluster-") as work:
        for _ in range(args.rounds):
            for name, options in commands.items():
                count, took = timed_run(options, sources, args.copies, Path(work))
                seconds[name].append(took)
                fixed[name].append(timed_run(options, [], 0, Path(work))[1])

    print(f"{count} photos ({len(sources)} originals x {args.copies}), {args.rounds} round(s), median of rounds")
    print(f"{'command':<30} {'seconds':>8} {'photos/s':>9} {'per worker':>11} {'empty folder':>13}")
    for name, runs in seconds.items():
        median = statistics.median(runs)
        rate = count / median
        empty = statistics.median(fixed[name])
        print(f"{'emotag tag ' + name:<30} {median:8.1f} {rate:9.2f} {rate / args.workers:11.2f} {empty:11.1f} s")
    local, cluster = (statistics.median(runs) for runs in seconds.values())
    print(f"cluster / local: {cluster / local:.3f} (target <= 1.15)")


if __name__ == "__main__":
    main()
