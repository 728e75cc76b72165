"""End-to-end speed of `emotag tag` (real writes) beside the `fer` package's pipeline, on the same photos.

    python bench/throughput.py [--photos ../shared/data/photos] [--sizes 12 24] [--rerun 1000] [--no-peer]

Builds its corpus in a temporary folder: every development photo (or, without them, the samples and a generated
photo without faces) scaled up to 12 and 24 megapixels as JPEGs, as a camera would have taken them. emotag tags
`--copies` copies of it (3), the peer one copy. Prints:
- throughput: photos and faces a second with `--jobs 1` and with all cores, and the peer on the same photos, with
  peak resident memory of the largest process (a worker, the main process or ExifTool);
- where the time goes, per stage, from the `--jobs 1` run's own stage clock (`emotag -v`);
- face recall on the hand-boxed photos at each size, beside the speed;
- a re-run over an already-tagged archive of `--rerun` photos;
- cold start (one photo) and the import time of `emotag --help`;
- an idle watcher's resident memory.

The peer needs `pip install --no-deps fer 'opencv-python-headless<5'` (TensorFlow too, from `emotag[train]`);
without it its rows say so. Install it for the benchmark only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from face_recall import DEFAULT_PHOTOS, hand_boxes, overlap
from PIL import Image
from watch_latency import Watcher, process_tree, resident_mib

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
PEER = r"""
import json, sys, time
started = time.perf_counter()
import cv2
from fer.fer import FER
detector = FER(mtcnn=False)
faces = 0
paths = sys.argv[1:]
for path in paths:
    faces += len(detector.detect_emotions(cv2.imread(path)))
print(json.dumps({"photos": len(paths), "faces": faces, "seconds": time.perf_counter() - started}))
"""


def build_corpus(sources: list[Path], folder: Path, megapixels: float) -> list[Path]:
    """Each source photo scaled to `megapixels` and saved as a quality-90 JPEG."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for source in sources:
        with Image.open(source) as image:
            factor = (megapixels * 1e6 / (image.width * image.height)) ** 0.5
            size = (round(image.width * factor), round(image.height * factor))
            big = image.convert("RGB").resize(size, Image.Resampling.BICUBIC)
        target = folder / f"{source.stem}.jpg"
        big.save(target, "JPEG", quality=90)
        made.append(target)
    return made


def source_photos(folder: Path) -> list[Path]:
    """The development photos, or the samples plus a generated photo without faces."""
    if folder.is_dir():
        return sorted(p for p in folder.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    generated = Path(tempfile.mkdtemp()) / "generated-no-faces.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (600, 800, 3), dtype=np.uint8)).save(generated)
    return sorted(SAMPLES.glob("*.jpg")) + [generated]


def run_measured(command: list[str], env: dict) -> tuple[float, int, str, str]:
    """Wall seconds, peak resident MiB of the largest process in the tree (os.wait4), stdout and stderr."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode not in (0, 1):
        sys.exit(f"{' '.join(command)} failed ({process.returncode}):\n{stderr[-2000:]}")
    return seconds, usage.ru_maxrss // 1024, stdout, stderr


def fresh_env(root: Path) -> dict:
    data = Path(tempfile.mkdtemp(dir=root, prefix="data-"))
    return {**os.environ, "EMOTAG_DATA_DIR": str(data), "EMOTAG_CONFIG": str(data / "none.toml")}


def emotag_run(photos: list[Path], root: Path, jobs: int, copies: int) -> dict:
    """`emotag tag --json --jobs N` on `copies` fresh copies of each of `photos`."""
    work = Path(tempfile.mkdtemp(dir=root, prefix=f"jobs{jobs}-"))
    for copy in range(copies):
        for photo in photos:
            shutil.copyfile(photo, work / f"{copy}-{photo.name}")
    command = [sys.executable, "-m", "emotag.cli", "-v", "tag", "--json", "--jobs", str(jobs), str(work)]
    seconds, peak, stdout, stderr = run_measured(command, fresh_env(root))
    results = [json.loads(line) for line in stdout.splitlines()]
    stages = next((line.split(": ", 2)[2] for line in stderr.splitlines() if "time per stage" in line), "")
    return {
        "photos": len(results),
        "faces": sum(len(r["faces"]) for r in results),
        "errors": sum(r["status"] == "error" for r in results),
        "seconds": seconds,
        "peak_mib": peak,
        "stages": stages,
    }


def peer_run(photos: list[Path], root: Path) -> dict | None:
    """The `fer` package's pipeline (Haar detector and its model) on the same photos, or None without it."""
    check = subprocess.run([sys.executable, "-c", "import fer.fer, cv2"], capture_output=True)
    if check.returncode != 0:
        return None
    seconds, peak, stdout, _ = run_measured([sys.executable, "-c", PEER, *map(str, photos)], fresh_env(root))
    result = json.loads(stdout.strip().splitlines()[-1])
    return {**result, "seconds": seconds, "peak_mib": peak}


def recall_at(photos_folder: Path, megapixels: float) -> tuple[int, int]:
    """Hand-boxed faces found by emotag's own photo reading and face finder, with the photos at `megapixels`."""
    from emotag.faces import FaceFinder
    from emotag.photos import read_photo

    boxes = hand_boxes(photos_folder)
    finder = FaceFinder()
    found = total = 0
    with tempfile.TemporaryDirectory() as folder:
        for name, truth in boxes.items():
            [scaled] = build_corpus([photos_folder / name], Path(folder), megapixels)
            with Image.open(photos_folder / name) as original:
                factor = (megapixels * 1e6 / (original.width * original.height)) ** 0.5
            faces = [face.box for face in finder.find(read_photo(scaled))]
            truth_scaled = [tuple(round(v * factor) for v in box) for box in truth]
            found += sum(any(overlap(t, f) >= 0.3 for f in faces) for t in truth_scaled)
            total += len(truth)
    return found, total


def rerun_rate(sources: list[Path], root: Path, count: int, jobs: int) -> tuple[float, float]:
    """Photos a second when `emotag tag` runs again over `count` photos it has tagged: with its ledger, without."""
    archive = Path(tempfile.mkdtemp(dir=root, prefix="archive-"))
    for i in range(count):
        source = sources[i % len(sources)]
        shutil.copyfile(source, archive / f"{i:05d}-{source.name}")
    env = fresh_env(root)
    command = [sys.executable, "-m", "emotag.cli", "tag", "--jobs", str(jobs), str(archive)]
    run_measured(command, env)
    with_ledger, *_ = run_measured(command, env)
    without_ledger, *_ = run_measured(command, fresh_env(root))
    return count / with_ledger, count / without_ledger


def cold_start(photo: Path, root: Path) -> tuple[float, float]:
    """Seconds for `emotag tag` on one photo from nothing, and for `emotag --help`."""
    work = Path(tempfile.mkdtemp(dir=root, prefix="cold-"))
    shutil.copyfile(photo, work / photo.name)
    one, *_ = run_measured([sys.executable, "-m", "emotag.cli", "tag", str(work / photo.name)], fresh_env(root))
    helps = [run_measured([sys.executable, "-m", "emotag.cli", "--help"], fresh_env(root))[0] for _ in range(5)]
    return one, min(helps)


def idle_watcher_mib(root: Path, seconds: float = 10) -> tuple[float, float]:
    """Resident MiB of an idle, warmed-up `emotag watch`: the watcher process, and with its ExifTool."""
    folder = Path(tempfile.mkdtemp(dir=root, prefix="watched-"))
    watcher = Watcher(folder, fresh_env(root))
    try:
        time.sleep(seconds)
        tree = process_tree(watcher.process.pid)
        return resident_mib(watcher.process.pid), sum(resident_mib(pid) for pid in tree)
    finally:
        watcher.stop()


def table(rows: list[list], header: list[str]) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"  # noqa: E731
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS)
    parser.add_argument("--sizes", type=float, nargs="+", default=[12, 24], help="megapixels")
    parser.add_argument("--rerun", type=int, default=1000, help="photos in the re-run archive (0: skip)")
    parser.add_argument("--no-peer", action="store_true", help="skip the fer package's pipeline")
    parser.add_argument(
        "--copies",
        type=int,
        default=3,
        help="copies of the corpus emotag tags (start-up weighs less); the peer, a "
        "library without workers or start-up to amortise, reads one copy (its rate per photo is the same)",
    )
    args = parser.parse_args()

    from emotag.batch import default_jobs

    cores = default_jobs()
    sources = source_photos(args.photos)
    root = Path(tempfile.mkdtemp(prefix="emotag-bench-"))
    print(f"{len(sources)} source photos, {cores} cores, work in {root}\n", flush=True)
    rows, stage_lines, recall_rows = [], [], []
    try:
        for megapixels in args.sizes:
            corpus = build_corpus(sources, root / f"corpus-{megapixels:g}mp", megapixels)
            runs = [("emotag --jobs 1", emotag_run(corpus, root, 1, args.copies))]
            if cores > 1:
                runs.append((f"emotag --jobs {cores}", emotag_run(corpus, root, cores, args.copies)))
            peer = None if args.no_peer else peer_run(corpus, root)
            if peer:
                runs.append(("fer (Haar + its CNN)", peer))
            for name, run in runs:
                ratio = f"{(run['photos'] / run['seconds']) / (peer['photos'] / peer['seconds']):.1f}x" if peer else "-"
                rows.append(
                    [
                        f"{megapixels:g} MP",
                        name,
                        run["photos"],
                        run["faces"],
                        f"{run['seconds']:.1f}",
                        f"{run['photos'] / run['seconds']:.2f}",
                        f"{run['faces'] / run['seconds']:.1f}",
                        run["peak_mib"],
                        ratio,
                    ]
                )
            stage_lines.append(f"{megapixels:g} MP, --jobs 1, {runs[0][1]['photos']} photos: {runs[0][1]['stages']}")
            if (args.photos / "dlib_faces_testing.xml").is_file():
                found, total = recall_at(args.photos, megapixels)
                recall_rows.append([f"{megapixels:g} MP", f"{found}/{total}", f"{100 * found / total:.1f}%"])
            print(f"... {megapixels:g} MP done", file=sys.stderr, flush=True)

        header = ["photos at", "pipeline", "photos", "faces", "seconds", "photos/s", "faces/s", "peak MiB", "vs fer"]
        print("## Throughput, end to end with writes\n")
        print(table(rows, header) + "\n")
        print("## Where the time goes (seconds in each stage, one process)\n")
        print("\n".join(f"- {line}" for line in stage_lines) + "\n")
        if recall_rows:
            print("## Face recall on the hand-boxed photos, at the sizes above (emotag's default settings)\n")
            print(table(recall_rows, ["photos at", "faces found", "recall"]) + "\n")
        if args.rerun:
            with_ledger, without = rerun_rate(sources, root, args.rerun, cores)
            print(f"## Re-run over {args.rerun} tagged photos, --jobs {cores}\n")
            print(f"- with the ledger: {with_ledger:.0f} photos/s")
            print(f"- ledger lost (ExifTool reads each photo's record): {without:.0f} photos/s\n")
        one, help_seconds = cold_start(SAMPLES / "astronaut-eileen-collins.jpg", root)
        print("## Start-up\n")
        print(f"- cold start, `emotag tag` on one photo: {one:.2f} s")
        print(f"- `emotag --help` (import and exit), best of 5: {help_seconds:.2f} s\n")
        watcher, with_exiftool = idle_watcher_mib(root)
        print("## Idle watcher\n")
        print(f"- resident memory: {watcher:.0f} MiB (with its ExifTool: {with_exiftool:.0f} MiB)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
