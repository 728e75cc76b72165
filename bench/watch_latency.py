"""The folder watcher against the targets of issue 4, measured on the real `emotag watch` process.

    python bench/watch_latency.py [--photos DIR] [--singles 20] [--burst 500] [--idle 60] [--kill-burst 200]

- One photo copied in: seconds until ExifTool reads emotag's tags from it (target: 95th percentile <= 3 s).
- Idle: CPU seconds the watcher and its ExifTool use in `--idle` seconds of nothing (target: < 1 s a minute),
  and their resident memory.
- A burst of `--burst` photos: seconds until all are done, none twice, against `emotag tag` on the same photos.
- A burst of `--kill-burst` photos stopped with SIGTERM (timed), restarted, killed with kill -9, restarted: every
  photo done in the end, none damaged (each still decodes to its original's pixels), none tagged twice.

Photos are copies of `--photos` (default: the samples), each name made unique. Everything happens in a temporary
folder with its own data folder and no configuration file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
FACE_SAMPLE = SAMPLES / "astronaut-eileen-collins.jpg"


class Watcher:
    """`emotag watch --json FOLDER` with its results timed as they arrive."""

    def __init__(self, folder: Path, env: dict):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "emotag.cli", "watch", "--json", str(folder)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.results: list[tuple[float, dict]] = []
        self.log: list[str] = []
        threading.Thread(target=self._results, daemon=True).start()
        threading.Thread(target=self._log, daemon=True).start()
        self.wait(lambda: any("emotag: watching" in line for line in self.log), 300)

    def _results(self) -> None:
        for line in self.process.stdout:
            self.results.append((time.monotonic(), json.loads(line)))

    def _log(self) -> None:
        for line in self.process.stderr:
            self.log.append(line.rstrip())

    def wait(self, condition, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None or time.monotonic() > deadline:
                sys.exit("watcher stopped or timed out:\n" + "\n".join(self.log[-20:]))
            time.sleep(0.02)

    def done(self) -> set[str]:
        return {result["path"] for _, result in self.results}

    def stop(self) -> float:
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=120)
        return time.monotonic() - started


def process_tree(pid: int) -> list[int]:
    """The process and its descendants (the watcher's ExifTool), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += children.get(current, [])
    return tree


def cpu_seconds(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def resident_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def copy_photos(sources: list[Path], folder: Path, count: int, prefix: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for number in range(count):
        source = sources[number % len(sources)]
        copies.append(Path(shutil.copyfile(source, folder / f"{prefix}{number:05d}--{source.name}")))
    return copies


def carries_tags(photo: Path) -> bool:
    output = subprocess.run(["exiftool", "-s3", "-XMP-emotag:ModelVersion", str(photo)], capture_output=True, text=True)
    return bool(output.stdout.strip())


def single_latency(watcher: Watcher, folder: Path, runs: int) -> list[float]:
    """Copy one photo with a face at a time; time until ExifTool reads the tags from it."""
    import exiftool

    seconds = []
    with exiftool.ExifToolHelper() as reader:
        for number in range(runs):
            photo = folder / f"single-{number:03d}.jpg"
            started = time.monotonic()
            shutil.copy(FACE_SAMPLE, photo)
            while not reader.get_tags([str(photo)], ["XMP-emotag:ModelVersion"])[0].get("XMP:ModelVersion"):
                time.sleep(0.02)
            seconds.append(time.monotonic() - started)
            time.sleep(1.5)  # one photo at a time: let the watcher go quiet
    return seconds


def idle_cost(watcher: Watcher, seconds: float) -> tuple[float, float]:
    tree = process_tree(watcher.process.pid)
    before = cpu_seconds(tree)
    time.sleep(seconds)
    used = cpu_seconds(tree) - before
    return used, sum(resident_mib(pid) for pid in tree)


def batch_seconds(sources: list[Path], root: Path, count: int, env: dict) -> float:
    """`emotag tag` on the same number of photos, with its own empty data folder."""
    folder = root / "batch"
    copy_photos(sources, folder, count, "b")
    batch_env = dict(env, EMOTAG_DATA_DIR=str(root / "batch-data"))
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "emotag.cli", "tag", str(folder)], env=batch_env, capture_output=True)
    return time.monotonic() - started


class MemorySampler(threading.Thread):
    """The highest resident memory of the watcher alone, and of it with all its processes, while it runs."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.main_peak = self.all_peak = 0.0
        self.running = True

    def run(self) -> None:
        while self.running:
            try:
                tree = process_tree(self.pid)
                self.main_peak = max(self.main_peak, resident_mib(self.pid))
                self.all_peak = max(self.all_peak, sum(resident_mib(pid) for pid in tree))
            except OSError:
                pass  # a process ended while being read
            time.sleep(0.5)


def burst(watcher: Watcher, sources: list[Path], folder: Path, count: int) -> tuple[float, int, MemorySampler]:
    memory = MemorySampler(watcher.process.pid)
    memory.start()
    started = time.monotonic()
    photos = copy_photos(sources, folder, count, "burst")
    wanted = {str(p) for p in photos}
    watcher.wait(lambda: wanted <= watcher.done(), 3600)
    seconds = time.monotonic() - started
    memory.running = False
    time.sleep(3)  # room for a second result, if any photo were done twice
    twice = sum(n > 1 for path, n in Counter(r["path"] for _, r in watcher.results).items() if path in wanted)
    return seconds, twice, memory


def stop_kill_and_restart(sources: list[Path], folder: Path, count: int, env: dict) -> dict:
    """A burst interrupted twice: SIGTERM (timed), then kill -9, then a start that finishes it."""
    folder.mkdir(parents=True, exist_ok=True)
    runs = [Watcher(folder, env)]
    photos = copy_photos(sources, folder, count, "kill")
    wanted = {str(p) for p in photos}

    def done() -> set[str]:
        return set().union(*(run.done() for run in runs))

    runs[0].wait(lambda: len(done()) >= count // 4, 3600)
    stop_seconds = runs[0].stop()
    stopped_cleanly = runs[0].process.returncode == 0
    runs.append(Watcher(folder, env))
    runs[1].wait(lambda: len(done()) >= count // 2, 3600)
    runs[1].process.kill()
    runs[1].process.wait()
    done_before_kill = len(done())
    time.sleep(2)  # orphaned workers and ExifTool notice their parent is gone
    runs.append(Watcher(folder, env))
    runs[2].wait(lambda: wanted <= done(), 3600)
    time.sleep(3)
    runs[2].stop()
    results = [result for run in runs for _, result in run.results]
    tagged = Counter(r["path"] for r in results if r["status"] == "tagged")
    damaged = 0
    for photo in photos:
        source = next(s for s in sources if photo.name.endswith("--" + s.name))
        with Image.open(photo) as a, Image.open(source) as b:
            damaged += not np.array_equal(np.asarray(a), np.asarray(b))
    return {
        "stop in the burst": f"exit {'0' if stopped_cleanly else runs[0].process.returncode} in {stop_seconds:.1f} s",
        "photos": count,
        "done before the kill": done_before_kill,
        "tagged twice": sum(n > 1 for n in tagged.values()),
        "damaged": damaged,
        "reported tagged but without tags": sum(not carries_tags(Path(path)) for path in tagged),
        "leftover ExifTool files": len(list(folder.glob("*_exiftool_tmp"))),
        "errors": sum(r["status"] == "error" for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, default=SAMPLES)
    parser.add_argument("--singles", type=int, default=20)
    parser.add_argument("--burst", type=int, default=500)
    parser.add_argument("--idle", type=float, default=60)
    parser.add_argument("--kill-burst", type=int, default=200)
    args = parser.parse_args()
    sources = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))

    with tempfile.TemporaryDirectory(prefix="emotag-bench-") as temporary:
        root = Path(temporary)
        env = dict(os.environ, EMOTAG_DATA_DIR=str(root / "data"), EMOTAG_CONFIG=str(root / "none.toml"))
        env["PYTHONUNBUFFERED"] = "1"
        watched = root / "watched"
        watched.mkdir()
        print(f"photos: {len(sources)} from {args.photos}; {os.cpu_count()} cores", flush=True)

        watcher = Watcher(watched, env)
        latency = single_latency(watcher, watched, args.singles)
        p95 = float(np.percentile(latency, 95))
        print(
            f"one photo copied in: median {statistics.median(latency):.2f} s, 95th percentile {p95:.2f} s, "
            f"max {max(latency):.2f} s over {len(latency)} (target: 95th percentile <= 3 s)",
            flush=True,
        )
        cpu, memory = idle_cost(watcher, args.idle)
        per_minute = cpu * 60 / args.idle
        print(
            f"idle {args.idle:.0f} s: {cpu:.3f} CPU s ({per_minute:.3f} a minute; target < 1 s), "
            f"resident memory {memory:.0f} MiB (watcher and its ExifTool)",
            flush=True,
        )
        batch = batch_seconds(sources, root, args.burst, env)
        seconds, twice, peak = burst(watcher, sources, watched / "burst", args.burst)
        print(
            f"burst of {args.burst}: all done in {seconds:.1f} s, {twice} twice; `emotag tag` on as many: "
            f"{batch:.1f} s (ratio {seconds / batch:.2f}; target: about 1); resident memory at most "
            f"{peak.main_peak:.0f} MiB for the watcher, {peak.all_peak:.0f} MiB with its workers and ExifTools",
            flush=True,
        )
        time.sleep(3)
        print(f"after the burst: resident memory {resident_mib(watcher.process.pid):.0f} MiB", flush=True)
        print(f"stop (SIGTERM) while idle: exited in {watcher.stop():.1f} s", flush=True)
        outcome = stop_kill_and_restart(sources, root / "killed", args.kill_burst, env)
        print("SIGTERM, then kill -9 in a burst, then restart: " + ", ".join(f"{k}: {v}" for k, v in outcome.items()))


if __name__ == "__main__":
    main()
