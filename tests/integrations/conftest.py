"""Fixtures for the photo manager tests: darktable run headless under Xvfb, plain Lua, and the real emotag.

The programs are Debian's (`.ci/apt-packages.txt`); where one is missing its tests skip and say which.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INTEGRATIONS = ROOT / "integrations"
DARKTABLE_SCRIPT = INTEGRATIONS / "darktable" / "emotag.lua"
DARKTABLE_DRIVER = Path(__file__).with_name("darktable_driver.lua")
LIGHTROOM_PLUGIN = INTEGRATIONS / "lightroom" / "emotag.lrplugin"
LIGHTROOM_STANDIN = Path(__file__).with_name("lightroom_standin.lua")
DARKTABLE_SECONDS = 150  # each emotag run inside darktable loads the model: seconds; a hang must not stall CI
STARTUP_SECONDS = 45  # darktable reaches --luacmd in 2-5 s here


def emotag_folder() -> Path | None:
    """The folder holding the `emotag` command of the Python running the tests."""
    beside_python = Path(sys.executable).parent / "emotag"
    if beside_python.is_file():
        return beside_python.parent
    found = shutil.which("emotag")
    return Path(found).parent if found else None


def run_darktable(command: list[str], environment: dict, folder: Path, report: Path) -> tuple[int | None, str]:
    """Run darktable under xvfb-run in its own session, so that a hang ends all of it (Xvfb too).

    Once in about ten runs here darktable hung before it ran --luacmd at all; such a start is tried once more,
    with a warning. A hang after the steps began is a failure.
    """
    for attempt in (1, 2):
        for lock in folder.rglob("*.lock"):  # left by a killed darktable, whose pid may still look alive a while
            lock.unlink()
        returncode, log, started = _run_once(command, environment, folder, report)
        if started:
            return returncode, log
        warnings.warn(f"darktable hung before running the steps (attempt {attempt}):\n{log[-2000:]}", stacklevel=2)
    return returncode, log


def _run_once(command: list[str], environment: dict, folder: Path, report: Path) -> tuple[int | None, str, bool]:
    log_file = folder / "darktable.log"
    started = time.monotonic()
    with (
        open(log_file, "w") as log,
        subprocess.Popen(
            command, env=environment, cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        ) as process,
    ):
        while process.poll() is None:
            waited = time.monotonic() - started
            if waited > DARKTABLE_SECONDS or (waited > STARTUP_SECONDS and not report.exists()):
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                log.write(f"\n[test] darktable killed after {waited:.0f} s\n")
            time.sleep(0.2)
    return process.returncode, log_file.read_text(errors="replace"), report.exists()


@dataclass
class Report:
    """What a driver saw inside the photo manager: each line of its report, split at tabs."""

    lines: list[list[str]] = field(default_factory=list)
    log: str = ""

    def of(self, kind: str) -> list[list[str]]:
        return [line[1:] for line in self.lines if line[0] == kind]

    def tags(self, filename: str, kind: str = "tag") -> set[str]:
        return {tag for name, tag in self.of(kind) if name == filename}

    def value(self, key: str) -> str:
        return {line[0]: line[1] for line in self.of("value")}[key]


def read_report(report_file: Path, returncode: int | None, log: str, where: str) -> Report:
    """The driver's report; a failure inside the steps, or steps that never finished, fail the test."""
    report = Report(log=log)
    if report_file.is_file():
        report.lines = [line.split("\t") for line in report_file.read_text(encoding="utf-8").splitlines()]
    failures = report.of("failure")
    assert not failures, f"the steps failed inside {where}:\n{failures[0][0]}"
    assert report.of("done"), f"{where} ended before the steps did (exit {returncode}):\n{log}"
    return report


@pytest.fixture
def darktable(tmp_path):
    """Run steps (a Lua chunk, see darktable_driver.lua) in a fresh darktable with its own library."""
    if not shutil.which("darktable"):
        pytest.skip("darktable is not installed (apt-get install darktable)")
    if not shutil.which("xvfb-run"):
        pytest.skip("xvfb-run is not installed (apt-get install xvfb xauth)")

    def run(steps: str, photos: list[Path] = (), env: dict | None = None) -> Report:
        home = tmp_path / "darktable"
        home.mkdir(exist_ok=True)
        steps_file = home / "steps.lua"
        steps_file.write_text(steps, encoding="utf-8")
        report_file = home / "report.tsv"
        report_file.unlink(missing_ok=True)
        command = [
            "xvfb-run",
            "-a",
            "darktable",
            "--configdir",
            str(home / "config"),
            "--library",
            str(home / "library.db"),
            "--cachedir",
            str(home / "cache"),
            "--disable-opencl",
            "--luacmd",
            'dofile(os.getenv("EMOTAG_DT_DRIVER"))',
        ]
        environment = {
            **os.environ,
            "PATH": os.pathsep.join(filter(None, [str(emotag_folder() or ""), os.environ.get("PATH", "")])),
            "EMOTAG_DT_DRIVER": str(DARKTABLE_DRIVER),
            "EMOTAG_DT_SCRIPT": str(DARKTABLE_SCRIPT),
            "EMOTAG_DT_STEPS": str(steps_file),
            "EMOTAG_DT_REPORT": str(report_file),
            "EMOTAG_DT_PHOTOS": "\n".join(str(p) for p in photos),
            **(env or {}),
        }
        returncode, log = run_darktable(command, environment, home, report_file)
        return read_report(report_file, returncode, log, "darktable")

    return run


@pytest.fixture
def lua51() -> tuple[str, str]:
    """Lightroom Classic runs Lua 5.1: its plug-in is checked and run with Debian's lua5.1 and luac5.1."""
    lua, luac = shutil.which("lua5.1"), shutil.which("luac5.1")
    if not (lua and luac):
        pytest.skip("lua5.1 is not installed (apt-get install lua5.1)")
    return lua, luac


@pytest.fixture
def lightroom(lua51, tmp_path):
    """Run steps (a Lua chunk, see lightroom_standin.lua) against the plug-in in the Lightroom stand-in."""

    def run(steps: str, photos: list[Path] = (), env: dict | None = None) -> Report:
        folder = tmp_path / "lightroom"
        (folder / "temp").mkdir(parents=True, exist_ok=True)
        steps_file = folder / "steps.lua"
        steps_file.write_text(steps, encoding="utf-8")
        report_file = folder / "report.tsv"
        environment = {
            **os.environ,
            "PATH": os.pathsep.join(filter(None, [str(emotag_folder() or ""), os.environ.get("PATH", "")])),
            "EMOTAG_LR_PLUGIN": str(LIGHTROOM_PLUGIN),
            "EMOTAG_LR_STEPS": str(steps_file),
            "EMOTAG_LR_PHOTOS": "\n".join(str(p) for p in photos),
            "EMOTAG_LR_TEMP": str(folder / "temp"),
            "EMOTAG_LR_REPORT": str(report_file),
            **(env or {}),
        }
        done = subprocess.run(
            [lua51[0], str(LIGHTROOM_STANDIN)], env=environment, cwd=folder, capture_output=True, text=True, timeout=300
        )
        return read_report(report_file, done.returncode, done.stdout + done.stderr, "the Lightroom stand-in")

    return run
