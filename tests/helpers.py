"""What the test modules share: the sample photos, the real `emotag` command and ExifTool, and small readers.

Fixtures live in tests/conftest.py; everything here is a plain function or constant a test module imports.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SHARED = ROOT.parent / "shared" / "data"
EYES = SHARED / "eyes" / "photos"
HAPPY_PHOTO = "astronaut-eileen-collins.jpg"
NEUTRAL_PHOTO = "grace-hopper.jpg"
NO_FACE_PHOTOS = ("rocket-launch.jpg", "cat-chelsea.jpg")
HAPPY = SAMPLES / HAPPY_PHOTO
CLOSED = ("closed_409471bc37.jpg", "closed_40c7a0b951.jpg", "closed_4115b3f48e.jpg")
OPEN = ("open_0b3a04a83c.jpg", "open_0b2fb72a0d.jpg")
"""Faces of ../shared/data/eyes with their eyes closed, and open (`copy_shared`)."""
KEYWORD_FIELDS = ("XMP-dc:Subject", "XMP-lr:HierarchicalSubject", "XMP-digiKam:TagsList", "IPTC:Keywords")
STARTUP = 240  # seconds: TensorFlow on a busy machine
WAIT = 120


# The transpose that, applied to an upright image, gives the stored pixels for each EXIF orientation.
STORED_AS = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def run_emotag(*args: str, check: bool = False, env: dict | None = None) -> subprocess.CompletedProcess:
    """The real `emotag` command, as a user runs it."""
    result = subprocess.run(
        [sys.executable, "-m", "emotag.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=600,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"emotag {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def exiftool_tags(path: Path, *tags: str, options: tuple[str, ...] = ()) -> dict:
    """Tags as ExifTool itself reads them back (one process per call: independent of emotag's own reader)."""
    output = subprocess.run(
        ["exiftool", "-j", "-G1", "-struct", *options, *[f"-{t}" for t in tags], "--", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    data = json.loads(output)[0]
    data.pop("SourceFile", None)
    return data


def as_list(value) -> list:
    """A field as ExifTool's JSON gives it, as a list: one value alone, a list as it is, a missing one empty."""
    return [] if value is None else value if isinstance(value, list) else [value]


def as_strings(value) -> list[str]:
    """`as_list`, each value as text: ExifTool's JSON turns a keyword such as "2024" into a number."""
    return [str(v) for v in as_list(value)]


def keyword_fields(photo: Path) -> dict:
    """The keyword fields the photo has, each as a list."""
    data = exiftool_tags(photo, *KEYWORD_FIELDS)
    return {name: as_list(data[name]) for name in KEYWORD_FIELDS if name in data}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).copy()


def fake_raw(path: Path, side: int = 600) -> None:
    """A raw stand-in (a JPEG named .NEF, .CR2...): a grey main image of `side` pixels whose only face is in the
    embedded preview, as in a camera's raw file (no camera raw file may be shipped with the tests; this exercises
    the preview and sidecar path). Its working files are hidden, so that a watcher passes them by."""
    preview = path.with_name(".preview.jpg")
    container = path.with_name(".container.jpg")
    with Image.open(SAMPLES / HAPPY_PHOTO) as image:
        image.convert("RGB").resize((400, 400)).save(preview, quality=80)
    Image.new("RGB", (side, side), (90, 90, 90)).save(container, "JPEG")
    embed = ["exiftool", "-q", "-overwrite_original", f"-ThumbnailImage<={preview}", "--", str(container)]
    subprocess.run(embed, check=True)
    preview.unlink()
    container.rename(path)


def copy_shared(names: tuple[str, ...], folder: Path) -> list[Path]:
    """Writable copies of faces from ../shared/data/eyes; skips the test where they are missing."""
    if not all((EYES / name).is_file() for name in names):
        pytest.skip("../shared/data/eyes is not here")
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for name in names:
        copy = folder / name
        shutil.copyfile(EYES / name, copy)
        copies.append(copy)
    return copies


def copy_samples(folder: Path, rounds: int) -> list[Path]:
    """`rounds` copies of each sample photo, named `<round>--<sample name>`."""
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for round_ in range(rounds):
        for sample in (HAPPY_PHOTO, NEUTRAL_PHOTO, *NO_FACE_PHOTOS):
            copies.append(Path(shutil.copy(SAMPLES / sample, folder / f"{round_:03d}--{sample}")))
    return copies


def without_file_permission_override(*command: str) -> list[str]:
    """Run as root but subject to file permissions, as any user is (tests run as root)."""
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) is needed to drop root's right to ignore file permissions")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]


class RunningWatcher:
    """`python -m emotag.cli watch --json FOLDER` in the background, its output collected as it comes."""

    def __init__(self, folder: Path, env: dict, options: tuple[str, ...], prefix: tuple[str, ...] = ()):
        command = [*prefix, sys.executable, "-m", "emotag.cli", "watch", "--json", *options, str(folder)]
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.results: list[dict] = []
        self.log: list[str] = []
        for stream, into, parse in (
            (self.process.stdout, self.results, json.loads),
            (self.process.stderr, self.log, str.rstrip),
        ):
            threading.Thread(target=self._collect, args=(stream, into, parse), daemon=True).start()
        self.wait_for(lambda: any("emotag: watching" in line for line in self.log), "the watcher to start", STARTUP)

    @staticmethod
    def _collect(stream, into: list, parse) -> None:
        for line in stream:
            into.append(parse(line))

    def wait_for(self, condition, what: str, timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None:
                time.sleep(0.5)  # let the readers take the last lines
                pytest.fail(f"watcher exited ({self.process.returncode}) waiting for {what}:\n" + "\n".join(self.log))
            if time.monotonic() > deadline:
                pytest.fail(f"timed out waiting for {what}:\n" + "\n".join(self.log))
            time.sleep(0.1)

    def wait_for_photos(self, photos: list[Path], timeout: float = WAIT) -> None:
        wanted = {str(p) for p in photos}
        self.wait_for(lambda: wanted <= {r["path"] for r in self.results}, f"{len(wanted)} photos", timeout)

    def to_catch_up(self) -> int:
        """How many photos the start-up walk queued, from the "N photos to catch up" line."""
        line = next(line for line in self.log if "emotag: watching" in line)
        return int(re.search(r"; (\d+) photos? to catch up", line).group(1))

    def results_for(self, photo: Path) -> list[dict]:
        return [r for r in self.results if r["path"] == str(photo)]

    def stop(self, number: int = signal.SIGTERM) -> int:
        self.process.send_signal(number)
        code = self.process.wait(timeout=WAIT)
        time.sleep(0.2)
        return code
