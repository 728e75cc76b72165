"""Shared fixtures: real sample photos in a throw-away folder, and emotag's state kept out of the user's home."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SHARED = ROOT.parent / "shared" / "data"
HAPPY_PHOTO = "astronaut-eileen-collins.jpg"
NEUTRAL_PHOTO = "grace-hopper.jpg"
NO_FACE_PHOTOS = ("rocket-launch.jpg", "cat-chelsea.jpg")


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


@pytest.fixture(autouse=True)
def private_state(tmp_path_factory, monkeypatch):
    """Each test gets its own ledger and no user configuration."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("EMOTAG_DATA_DIR", str(state))
    monkeypatch.setenv("EMOTAG_CONFIG", str(state / "config.toml"))
    return state


@pytest.fixture
def album(tmp_path) -> Path:
    """A folder holding a copy of every sample photo."""
    folder = tmp_path / "album"
    shutil.copytree(SAMPLES, folder, ignore=shutil.ignore_patterns("*.md"))
    return folder


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


def pixels(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB")).copy()
