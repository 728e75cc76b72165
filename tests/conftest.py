"""Shared fixtures: real sample photos in a throw-away folder, emotag's state kept out of the user's home, and
real watcher processes. The helpers test modules share are in tests/helpers.py."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.helpers import SAMPLES, RunningWatcher


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


@pytest.fixture
def watch_env(tmp_path) -> dict[str, str]:
    """The environment of a user with an empty data folder and no configuration file."""
    env = dict(os.environ)
    env["EMOTAG_DATA_DIR"] = str(tmp_path / "data")
    env["EMOTAG_CONFIG"] = str(tmp_path / "config.toml")
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def watchers():
    """Start watchers with `watchers(folder, env, *options)`; any still running at the end are killed."""
    started: list[RunningWatcher] = []

    def start(folder: Path, env: dict, *options: str, prefix: tuple[str, ...] = ()) -> RunningWatcher:
        watcher = RunningWatcher(folder, env, options, prefix)
        started.append(watcher)
        return watcher

    yield start
    for watcher in started:
        if watcher.process.poll() is None:
            watcher.process.kill()
            watcher.process.wait()
