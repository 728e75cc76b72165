"""`emotag watch` as a user runs it: the real watcher process on a temporary folder, real photos copied in, the
tags read back with ExifTool. Timeouts are generous; how fast it is, is `bench/watch_latency.py`'s business."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers import WAIT, as_strings, copy_samples

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
HAPPY = SAMPLES / "astronaut-eileen-collins.jpg"
NEUTRAL = SAMPLES / "grace-hopper.jpg"
ROCKET = SAMPLES / "rocket-launch.jpg"
CAT = SAMPLES / "cat-chelsea.jpg"
FACES = {HAPPY, NEUTRAL}


def read_tags(photo: Path) -> dict:
    """The photo's metadata as ExifTool reads it (a separate process: what a photo manager would see)."""
    output = subprocess.run(
        ["exiftool", "-j", "-G1", "-XMP-emotag:all", "-XMP-lr:HierarchicalSubject", "-XMP-dc:Subject", str(photo)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output)[0]


def same_picture(photo: Path, original: Path) -> bool:
    """Whether the photo still decodes to exactly the original's pixels (its metadata may differ)."""
    with Image.open(photo) as a, Image.open(original) as b:
        return np.array_equal(np.asarray(a), np.asarray(b))


def assert_tagged_as_reported(photo: Path, result: dict) -> None:
    """The file carries what the watcher said it wrote, and its picture is intact."""
    tags = read_tags(photo)
    assert tags.get("XMP-emotag:ModelVersion"), f"{photo} carries no emotag record"
    hierarchical = as_strings(tags.get("XMP-lr:HierarchicalSubject"))
    assert sorted(h.split("|")[-1] for h in hierarchical if "|" in h) == sorted(result["tags"])
    assert same_picture(photo, SAMPLES / original_name(photo))


def original_name(photo: Path) -> str:
    """Test photos are named `<anything>--<sample name>`."""
    return photo.name.split("--")[-1]


def expected_status(photo: Path) -> str:
    return "tagged" if SAMPLES / original_name(photo) in FACES else "no_faces"


def fingerprints(folder: Path) -> dict[str, tuple]:
    return {
        str(p): (p.stat().st_size, p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def errors_in(log: list[str]) -> list[str]:
    return [line for line in log if "emotag: error" in line]


@pytest.mark.parametrize(
    ("name", "is_new_photo"),
    [
        ("IMG_1.JPG", True),
        ("2026/IMG_2.CR2", True),
        ("IMG_3.jpg_exiftool_tmp", False),
        ("IMG_4.CR2.xmp", False),
        (".IMG_5.jpg", False),
        (".sync/IMG_6.jpg", False),
        ("IMG_7.jpg.part", False),
        ("~$IMG_8.jpg", False),
        ("notes.txt", False),
    ],
)
def test_which_files_count_as_new_photos(name, is_new_photo):
    from emotag.arrivals import is_candidate

    root = Path("/home/ada/.local/share/Pictures")  # a hidden folder above the watched one does not matter
    assert is_candidate(root / name, [root]) is is_new_photo


@pytest.mark.slow
def test_slow_copy_in_pieces_is_read_once_complete(tmp_path, watch_env, watchers):
    """A copy that stalls for longer than the settling time is still not read half-way."""
    folder = tmp_path / "photos"
    folder.mkdir()
    watcher = watchers(folder, watch_env)
    photo = folder / f"slow--{HAPPY.name}"
    data = HAPPY.read_bytes()
    pieces = [data[i : i + len(data) // 6 + 1] for i in range(0, len(data), len(data) // 6 + 1)]
    with open(photo, "wb") as file:
        for number, piece in enumerate(pieces):
            file.write(piece)
            file.flush()
            os.fsync(file.fileno())
            time.sleep(2.5 if number == 2 else 0.4)  # one stall longer than a photo needs to settle

    watcher.wait_for_photos([photo])
    time.sleep(3)  # room for a second, wrong, result to show up
    assert [r["status"] for r in watcher.results_for(photo)] == ["tagged"]
    assert_tagged_as_reported(photo, watcher.results_for(photo)[0])
    assert not errors_in(watcher.log)


@pytest.mark.slow
def test_moves_into_the_folder_count_as_new(tmp_path, watch_env, watchers):
    folder = tmp_path / "photos"
    folder.mkdir()
    outside = tmp_path / "card"
    single = Path(shutil.copy(HAPPY, tmp_path / f"moved--{HAPPY.name}"))
    album = copy_samples(outside / "album", rounds=1)[1:]  # neutral, rocket, cat
    watcher = watchers(folder, watch_env)

    single.rename(folder / single.name)
    (outside / "album").rename(folder / "album")
    arrived = [folder / single.name] + [folder / "album" / p.name for p in album]

    watcher.wait_for_photos(arrived)
    for photo in arrived:
        assert [r["status"] for r in watcher.results_for(photo)] == [expected_status(photo)], photo
    assert_tagged_as_reported(arrived[0], watcher.results_for(arrived[0])[0])


@pytest.mark.slow
def test_burst_tags_each_photo_once_then_goes_quiet(tmp_path, watch_env, watchers):
    """A card's worth of photos arrives at once, with files that are not photos among them."""
    folder = tmp_path / "photos"
    folder.mkdir()
    watcher = watchers(folder, watch_env)
    photos = copy_samples(folder / "DCIM", rounds=6)
    not_photos = [folder / "notes.txt", folder / ".hidden.jpg", folder / ".thumbs" / "t.jpg"]
    not_photos += [folder / "IMG_1.jpg_exiftool_tmp", folder / "IMG_2.CR2.xmp", folder / "IMG_3.jpg.part"]
    for path in not_photos:
        path.parent.mkdir(exist_ok=True)
        shutil.copy(NEUTRAL, path)

    watcher.wait_for_photos(photos)
    by_photo = Counter(r["path"] for r in watcher.results)
    assert all(by_photo[str(p)] == 1 for p in photos), "a photo was tagged more than once"
    assert set(by_photo) == {str(p) for p in photos}, "something that is not a new photo was tagged"
    for photo in photos:
        result = watcher.results_for(photo)[0]
        assert result["status"] == expected_status(photo), photo
        if result["status"] == "tagged":
            assert_tagged_as_reported(photo, result)

    before = fingerprints(folder)
    results = len(watcher.results)
    time.sleep(5)  # the work is done: nothing may be read or written any more
    assert len(watcher.results) == results
    assert fingerprints(folder) == before
    assert all(sum(f"{p}:" in line or line.endswith(str(p)) for line in watcher.log) == 1 for p in photos)


@pytest.mark.slow
def test_restart_catches_up_and_status_tells(tmp_path, watch_env, watchers):
    """Stop, photos arrive while no watcher runs, start again: they are tagged, the old ones are not touched."""
    folder = tmp_path / "photos"
    folder.mkdir()
    status = [sys.executable, "-m", "emotag.cli", "watch", "--status"]
    first = watchers(folder, watch_env)
    early = Path(shutil.copy(HAPPY, folder / f"early--{HAPPY.name}"))
    first.wait_for_photos([early])

    def status_says(*words: str) -> bool:
        shown = subprocess.run(status, env=watch_env, capture_output=True, text=True)
        return all(word in shown.stdout for word in words) and shown.returncode == 0

    first.wait_for(lambda: status_says("running", "1 tagged", "queued: 0"), "the status to show the work done")
    assert first.stop() == 0
    assert any("emotag: stopped" in line for line in first.log)
    stopped = subprocess.run(status, env=watch_env, capture_output=True, text=True)
    assert stopped.returncode == 3 and "stopped" in stopped.stdout

    late = copy_samples(folder / "later", rounds=1)
    second = watchers(folder, watch_env)
    second.wait_for_photos(late)
    for photo in late:
        assert [r["status"] for r in second.results_for(photo)] == [expected_status(photo)]
    assert not second.results_for(early), "a photo done before the stop was read again"
    assert second.stop(signal.SIGINT) == 0

    ledger = Path(watch_env["EMOTAG_DATA_DIR"]) / "ledger.sqlite"
    ledger.write_bytes(b"not a database" * 100)  # a corrupt ledger: the photos' own tags still say what is done
    newest = Path(shutil.copy(NEUTRAL, folder / f"newest--{NEUTRAL.name}"))
    third = watchers(folder, watch_env)
    third.wait_for_photos([newest, early, *late])
    tagged_before = [early] + [p for p in late if expected_status(p) == "tagged"]
    assert all([r["status"] for r in third.results_for(p)] == ["unchanged"] for p in tagged_before)
    assert [r["status"] for r in third.results_for(newest)] == ["tagged"]


@pytest.mark.slow
def test_broken_and_vanishing_files_are_skipped_and_the_watch_goes_on(tmp_path, watch_env, watchers):
    folder = tmp_path / "photos"
    folder.mkdir()
    watcher = watchers(folder, watch_env)
    first = Path(shutil.copy(HAPPY, folder / f"1--{HAPPY.name}"))
    data = NEUTRAL.read_bytes()
    truncated = folder / "2-truncated.jpg"
    truncated.write_bytes(data[: len(data) // 2])  # a copy that died half-way: read once it has lain still long
    garbage = folder / "3-garbage.jpg"
    garbage.write_bytes(os.urandom(5000))
    vanished = Path(shutil.copy(CAT, folder / f"4--{CAT.name}"))
    vanished.unlink()
    last = Path(shutil.copy(NEUTRAL, folder / f"5--{NEUTRAL.name}"))

    watcher.wait_for_photos([first, truncated, garbage, last])
    assert [r["status"] for r in watcher.results_for(truncated)] == ["error"]
    assert [r["status"] for r in watcher.results_for(garbage)] == ["error"]
    assert [r["status"] for r in watcher.results_for(first)] == ["tagged"]
    assert [r["status"] for r in watcher.results_for(last)] == ["tagged"]
    assert len(errors_in(watcher.log)) == 2
    assert watcher.process.poll() is None

    after = Path(shutil.copy(HAPPY, folder / f"6--{HAPPY.name}"))
    watcher.wait_for_photos([after])
    assert [r["status"] for r in watcher.results_for(after)] == ["tagged"]
    assert watcher.stop() == 0


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("setpriv"), reason="setpriv (util-linux) drops root's right to ignore permissions")
@pytest.mark.parametrize("polling", [False, True])
def test_a_subfolder_it_may_not_enter_is_reported_once_and_the_watch_goes_on(tmp_path, watch_env, watchers, polling):
    folder = tmp_path / "photos"
    locked = folder / "locked"
    locked.mkdir(parents=True)
    shutil.copyfile(HAPPY, locked / "inside.jpg")
    locked.chmod(0)
    try:
        as_a_user = ("setpriv", "--bounding-set=-dac_override,-dac_read_search")  # tests run as root
        watcher = watchers(folder, watch_env, *(["--polling"] if polling else []), prefix=as_a_user)
        arrived = Path(shutil.copyfile(NEUTRAL, folder / NEUTRAL.name))
        watcher.wait_for_photos([arrived])
        later = folder / "later"
        later.mkdir()
        late = Path(shutil.copyfile(HAPPY, later / HAPPY.name))
        watcher.wait_for_photos([late])
        assert [r["status"] for r in watcher.results_for(arrived)] == ["tagged"]
        assert [r["status"] for r in watcher.results_for(late)] == ["tagged"]
        assert [r["status"] for r in watcher.results_for(locked)] == ["error"], (watcher.log, watcher.results)
        assert [line for line in errors_in(watcher.log) if str(locked) in line] == errors_in(watcher.log)
        assert len(errors_in(watcher.log)) == 1, watcher.log
        assert watcher.stop() == 0
    finally:
        locked.chmod(0o755)


@pytest.mark.slow
def test_kill_9_in_a_burst_loses_nothing_and_corrupts_nothing(tmp_path, watch_env, watchers):
    folder = tmp_path / "photos"
    folder.mkdir()
    first = watchers(folder, watch_env)
    photos = copy_samples(folder, rounds=8)
    first.wait_for(lambda: len(first.results) >= 8, "the first results")
    first.process.kill()
    first.process.wait()
    assert len(first.results) < len(photos), "the burst was over before the kill; the test proves nothing"

    second = watchers(folder, watch_env)
    # A photo the killed watcher finished may have lost only its report line: the ledger has it, so the second
    # watcher rightly skips it. What must hold is the photos' end state, checked below.
    second.wait_for(lambda: len(second.results) >= second.to_catch_up(), "the catch-up")
    time.sleep(3)  # room for a second, wrong, result to show up
    tagged = Counter(r["path"] for r in first.results + second.results if r["status"] == "tagged")
    assert max(tagged.values()) == 1, "a photo was tagged twice"
    for photo in photos:
        assert same_picture(photo, SAMPLES / original_name(photo)), f"{photo} is damaged"
        carries_record = bool(read_tags(photo).get("XMP-emotag:ModelVersion"))
        assert carries_record == (expected_status(photo) == "tagged"), photo
    assert not list(folder.glob("*_exiftool_tmp"))
    assert not errors_in(first.log + second.log)


@pytest.mark.slow
def test_polling_finds_a_copied_photo_and_ctrl_c_stops_it(tmp_path, watch_env, watchers):
    folder = tmp_path / "share"
    folder.mkdir()
    watcher = watchers(folder, watch_env, "--polling")
    photo = Path(shutil.copy(NEUTRAL, folder / f"polled--{NEUTRAL.name}"))
    watcher.wait_for_photos([photo])
    time.sleep(5)  # a few polls: emotag's own write must not come back as a new photo
    assert [r["status"] for r in watcher.results_for(photo)] == ["tagged"]
    assert_tagged_as_reported(photo, watcher.results_for(photo)[0])
    assert watcher.stop(signal.SIGINT) == 0


def peak_memory_mib(pid: int) -> float:
    """The most resident memory the process has held so far."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]) / 1024


def test_a_photo_reached_through_a_linked_folder_is_not_a_new_photo(tmp_path):
    from emotag.arrivals import is_candidate

    (tmp_path / "album").mkdir()
    photo = Path(shutil.copy(NEUTRAL, tmp_path / "album" / "photo.jpg"))
    (tmp_path / "album" / "again.jpg").symlink_to("photo.jpg")
    (tmp_path / "linked").symlink_to("album")
    assert is_candidate(photo, [tmp_path])
    assert not is_candidate(tmp_path / "album" / "again.jpg", [tmp_path])
    assert not is_candidate(tmp_path / "linked" / "photo.jpg", [tmp_path])


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("prlimit"), reason="prlimit (util-linux) bounds the watcher's memory")
def test_polling_does_not_follow_links_back_up_the_tree(tmp_path, watch_env, watchers):
    """Two links back up the tree: a walk that followed them would never end, and its memory would grow until it
    failed. Links are not followed, as `emotag tag` does not follow them: the photo is read once, under its path."""
    folder = tmp_path / "share"
    (folder / "album").mkdir(parents=True)
    (folder / "loop").symlink_to(".")
    (folder / "album" / "up").symlink_to("..")
    bounded = ("prlimit", f"--data={2 << 30}")  # should the walk not end, it fails here, not the machine
    watcher = watchers(folder, watch_env, "--polling", prefix=bounded)
    photo = Path(shutil.copy(NEUTRAL, folder / "album" / f"linked--{NEUTRAL.name}"))
    watcher.wait_for_photos([photo])
    time.sleep(5)  # a few polls: the photo must not come back under another path
    assert [r["path"] for r in watcher.results] == [str(photo)]
    assert [r["status"] for r in watcher.results] == ["tagged"]
    assert peak_memory_mib(watcher.process.pid) < 512
    assert watcher.stop() == 0


@pytest.mark.slow
def test_long_burst_goes_to_worker_processes_and_stops_cleanly(tmp_path, watch_env, watchers):
    """A long backlog goes to `--jobs` processes, as `emotag tag` would. A stop in the middle finishes the batches
    in hand; the next start does the rest; every photo is done exactly once."""
    folder = tmp_path / "photos"
    folder.mkdir()
    env = dict(watch_env, EMOTAG_POOL_AFTER_SECONDS="0")  # any backlog is long (what counts as long: the bench)
    first = watchers(folder, env, "--jobs", "2")
    photos = copy_samples(folder, rounds=30)
    first.wait_for(lambda: any("worker processes" in line for line in first.log), "the workers")
    first.wait_for(lambda: len(first.results) >= 24, "the workers' first results", timeout=600)
    assert first.stop() == 0
    assert len(first.results) < len(photos), "the burst was over before the stop; the test proves nothing"

    second = watchers(folder, watch_env, "--jobs", "2")
    second.wait_for_photos([p for p in photos if not first.results_for(p)], timeout=900)
    time.sleep(3)
    results = first.results + second.results
    assert Counter(r["path"] for r in results) == Counter(str(p) for p in photos)
    assert all(r["status"] == expected_status(Path(r["path"])) for r in results)
    assert second.stop() == 0


@pytest.mark.slow
def test_a_watched_folder_that_goes_away_is_reported_and_the_last_one_ends_the_watch(tmp_path, watch_env, watchers):
    """An unmounted card or disk: the service manager should see a failure and try again later."""
    card, disk = tmp_path / "card", tmp_path / "disk"
    card.mkdir()
    disk.mkdir()
    watcher = watchers(card, watch_env, str(disk))
    shutil.rmtree(card)
    watcher.wait_for(lambda: any(f"{card} is gone" in line for line in watcher.log), "the first folder to be missed")
    assert watcher.process.poll() is None
    shutil.rmtree(disk)
    assert watcher.process.wait(timeout=WAIT) == 1
    time.sleep(0.5)
    assert "emotag: no watched folder is left" in watcher.log


def exiftool_edit(photo: Path, *arguments: str) -> None:
    """Change a photo the way a photo manager does, while the watcher looks on."""
    subprocess.run(["exiftool", "-q", "-overwrite_original", *arguments, "--", str(photo)], check=True)


@pytest.mark.slow
@pytest.mark.parametrize("options", [(), ("--force",)], ids=["plain", "force"])
def test_a_keyword_the_user_takes_away_stays_away_while_watching(tmp_path, watch_env, watchers, options):
    """Happy taken out of dc:subject and Sad put in: the watcher takes its own other copies of Happy away (it
    does not put Happy back), once, and then leaves the photo alone. `--force` is for the photos there at start,
    not for a photo the user corrects while it runs."""
    folder = tmp_path / "photos"
    folder.mkdir()
    watcher = watchers(folder, watch_env, *options)
    photo = Path(shutil.copy(HAPPY, folder / f"corrected--{HAPPY.name}"))
    watcher.wait_for_photos([photo])
    assert as_strings(read_tags(photo).get("XMP-dc:Subject")) == ["Happy"]

    exiftool_edit(photo, "-XMP-dc:Subject-=Happy", "-XMP-dc:Subject+=Sad")
    watcher.wait_for(lambda: len(watcher.results_for(photo)) == 2, "the watcher to see the correction")
    assert [r["status"] for r in watcher.results_for(photo)] == ["tagged", "updated"]
    assert watcher.results_for(photo)[1]["removed"] == ["Happy"]
    time.sleep(5)  # room for the watcher to put Happy back, as it did
    tags = read_tags(photo)
    assert as_strings(tags.get("XMP-dc:Subject")) == ["Sad"]
    assert not tags.get("XMP-lr:HierarchicalSubject"), "emotag's Emotion|Happy stayed"
    assert len(watcher.results_for(photo)) == 2
    assert watcher.stop() == 0


@pytest.mark.slow
def test_untag_sticks_while_watching_and_after_a_restart(tmp_path, watch_env, watchers):
    folder = tmp_path / "photos"
    folder.mkdir()
    watcher = watchers(folder, watch_env)
    photo = Path(shutil.copy(HAPPY, folder / f"untagged--{HAPPY.name}"))
    watcher.wait_for_photos([photo])
    untag = [sys.executable, "-m", "emotag.cli", "untag", str(photo)]
    subprocess.run(untag, env=watch_env, check=True, capture_output=True)
    time.sleep(6)  # the watcher re-tagged it about 5 seconds later
    assert not read_tags(photo).get("XMP-emotag:ModelVersion"), "the watcher tagged the untagged photo again"
    assert len(watcher.results_for(photo)) == 1
    assert watcher.stop() == 0

    again = watchers(folder, watch_env)
    later = Path(shutil.copy(NEUTRAL, folder / f"later--{NEUTRAL.name}"))
    again.wait_for_photos([later])
    assert not again.results_for(photo) and not read_tags(photo).get("XMP-emotag:ModelVersion")
    assert again.stop() == 0
