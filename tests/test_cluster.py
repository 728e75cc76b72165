"""`emotag tag --cluster` as a user runs it: a local Dask cluster, and a scheduler and workers started with Dask's
own commands, over copies of the sample photos, the tags read back with ExifTool and compared with a local run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers import KEYWORD_FIELDS, NO_FACE_PHOTOS, SAMPLES, exiftool_tags, json_lines, run_emotag

psutil = pytest.importorskip("psutil")
pytest.importorskip("distributed")


def copies(folder: Path, times: int) -> list[Path]:
    """`times` copies of each sample photo, named `<sample>-<n>.jpg`."""
    folder.mkdir()
    for n in range(times):
        for sample in sorted(SAMPLES.glob("*.jpg")):
            shutil.copy(sample, folder / f"{sample.stem}-{n}.jpg")
    return sorted(folder.iterdir())


def sample_name(copy: Path) -> str:
    return copy.stem.rsplit("-", 1)[0] + ".jpg"


def written(photo: Path) -> dict:
    """What emotag leaves in a photo that decides what people find: keyword fields, each face's emotion."""
    data = exiftool_tags(photo, *KEYWORD_FIELDS, "XMP-emotag:Faces", "XMP-emotag:ModelVersion")
    faces = data.pop("XMP-emotag:Faces", [])
    data["emotions"] = [face["Emotion"] for face in (faces if isinstance(faces, list) else [faces])]
    return data


@pytest.fixture(scope="module")
def local_run(tmp_path_factory) -> dict[str, dict]:
    """Each sample photo's tags as a local `emotag tag` writes them."""
    folder = tmp_path_factory.mktemp("local")
    state = tmp_path_factory.mktemp("local-state")
    for sample in SAMPLES.glob("*.jpg"):
        shutil.copy(sample, folder)
    env = {"EMOTAG_DATA_DIR": str(state), "EMOTAG_CONFIG": str(state / "config.toml")}
    run_emotag("tag", str(folder), "--jobs", "1", check=True, env=env)
    return {photo.name: written(photo) for photo in folder.iterdir()}


def assert_like_local_run(photos: list[Path], local_run: dict, results: list[dict]) -> None:
    """Every photo reported once, nothing failed, and each holds exactly its sample's tags (none doubled)."""
    assert sorted(Counter(Path(r["path"]).name for r in results).items()) == [(p.name, 1) for p in photos]
    assert {r["status"] for r in results} <= {"tagged", "unchanged", "no_faces"}
    for photo in photos:
        assert written(photo) == local_run[sample_name(photo)], photo.name


@pytest.mark.slow
def test_local_cluster_writes_what_a_local_run_writes_and_remembers_it(tmp_path, local_run):
    photos = copies(tmp_path / "album", 5)  # 20 photos: two chunks, one for each worker
    result = run_emotag("tag", str(tmp_path / "album"), "--cluster", "local:2", "--json", check=True)
    results = json_lines(result.stdout)
    assert_like_local_run(photos, local_run, results)
    by_name = {Path(r["path"]).name: r for r in results}
    assert all(by_name[f"{Path(name).stem}-0.jpg"]["status"] == "no_faces" for name in NO_FACE_PHOTOS)
    assert "20 photos, 10 faces: 10 tagged, 10 no faces" in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr  # the summary, and no news from Dask

    again = run_emotag("tag", str(tmp_path / "album"), "--cluster", "local:2", "--json", check=True)
    assert {r["status"] for r in json_lines(again.stdout)} == {"unchanged"}  # the client's ledger knew them all


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def scheduler_and_workers(tmp_path):
    """`dask scheduler` and `dask worker ADDRESS --nthreads 1 --nworkers 2`, as the README starts them."""
    dask = [sys.executable, "-m", "dask"]
    logs = open(tmp_path / "dask.log", "w")  # noqa: SIM115 (closed below)
    found = tmp_path / "scheduler.json"  # the scheduler picks a free port and says which here (no race for one)
    scheduler = subprocess.Popen(
        [*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(found)],
        stdout=logs,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while not (found.exists() and found.read_text().strip()):
        assert time.monotonic() < deadline and scheduler.poll() is None, (tmp_path / "dask.log").read_text()
        time.sleep(0.2)
    address = json.loads(found.read_text())["address"]
    workers = subprocess.Popen(
        [*dask, "worker", address, "--nthreads", "1", "--nworkers", "2", "--no-dashboard"],
        stdout=logs,
        stderr=subprocess.STDOUT,
    )
    yield address, workers
    for process in (workers, scheduler):  # workers first: they say goodbye to the scheduler
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    logs.close()


def busy_worker(workers: subprocess.Popen):
    """A worker process that has loaded its Tagger (it runs an ExifTool), if there is one yet."""
    for child in psutil.Process(workers.pid).children(recursive=True):
        try:
            if any("exiftool" in " ".join(grandchild.cmdline()) for grandchild in child.children()):
                return child
        except psutil.NoSuchProcess:
            continue
    return None


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_nothing_and_tags_each_photo_once(tmp_path, local_run, scheduler_and_workers):
    address, workers = scheduler_and_workers
    photos = copies(tmp_path / "album", 16)  # 64 photos: four chunks
    run = subprocess.Popen(
        [sys.executable, "-m", "emotag.cli", "tag", str(tmp_path / "album"), "--cluster", address, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = run.stdout.readline()  # the first chunk is done: both workers are at work
    assert first, run.stderr.read()
    results = [json.loads(first)]
    victim = busy_worker(workers)
    assert victim is not None, "no worker holds an ExifTool"
    assert run.poll() is None, "the run ended before a worker could be killed"
    victim.send_signal(signal.SIGKILL)
    out = run.stdout.read()  # not communicate(): it reads the pipe beneath readline()'s buffer, losing lines
    err = run.stderr.read()
    run.wait(timeout=600)
    results += json_lines(out)
    log = (tmp_path / "dask.log").read_text()
    assert run.returncode == 0, f"{err}\n{log}"
    assert f"Worker process {victim.pid} was killed by signal 9" in log
    assert len(results) == len(photos), err
    assert_like_local_run(photos, local_run, results)

    again = run_emotag("tag", str(tmp_path / "album"), "--cluster", address, "--json", check=True)
    assert {r["status"] for r in json_lines(again.stdout)} == {"unchanged"}


@pytest.mark.slow
def test_an_unreachable_scheduler_is_one_line_and_status_2(tmp_path):
    copies(tmp_path / "album", 1)
    env = {"DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"}
    result = run_emotag("tag", str(tmp_path / "album"), "--cluster", f"tcp://127.0.0.1:{free_port()}", env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("emotag: cannot reach a Dask scheduler at tcp://127.0.0.1:")
    assert result.stderr.count("\n") == 1


@pytest.mark.slow
@pytest.mark.parametrize("spec", ["local:0", "local:two", "tcp://host name:8786"])
def test_a_malformed_cluster_is_a_usage_error(tmp_path, spec):
    result = run_emotag("tag", str(SAMPLES), "--cluster", spec)
    assert result.returncode == 2 and "--cluster" in result.stderr


@pytest.mark.slow
def test_without_cluster_dask_is_never_imported(tmp_path):
    code = (
        "import sys\n"
        "from emotag.cli import main\n"
        "try:\n"
        "    main(['tag', sys.argv[1]])\n"
        "except SystemExit as done:\n"
        "    assert done.code == 0, done.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n"
    )
    (tmp_path / "empty").mkdir()
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "empty")], capture_output=True, text=True, env=dict(os.environ)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def another_reading(chunk: list[Path]) -> tuple[str, list]:
    """What a worker with another eye reading answers: the chunk read, under other versions."""
    return "model 1.3.0, eye reading 0", []


@pytest.mark.slow
def test_a_worker_with_another_eye_reading_stops_the_run(tmp_path):
    from dask.distributed import Client, LocalCluster

    from emotag.cluster import ClusterError, DaskWorkers, reading_versions
    from emotag.pipeline import Settings

    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)
    with cluster, Client(cluster) as client:
        feeder = DaskWorkers(client, Settings(), reading_versions())
        done = client.submit(another_reading, [tmp_path / "a.jpg"])
        done.result()
        with pytest.raises(ClusterError, match="a worker reads with model 1.3.0, eye reading 0, this machine"):
            feeder._results(done, [tmp_path / "a.jpg"], None)
