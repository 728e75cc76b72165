"""Every command fails cleanly (issue 17): one line and the documented exit status, no traceback, no hang, nothing
left behind; counts and errors in a photographer's words; `show` on several photos."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from PIL import Image

from emotag.cli import main
from tests.helpers import HAPPY_PHOTO, NO_FACE_PHOTOS, SAMPLES, json_lines, run_emotag, without_file_permission_override

HAPPY = SAMPLES / HAPPY_PHOTO
CAT = SAMPLES / NO_FACE_PHOTOS[1]


def invoke(*args: str):
    """The `emotag` command in this process (for what needs no model: usage and configuration errors)."""
    return CliRunner().invoke(main, list(args), prog_name="emotag")


def one_line(result) -> str:
    """The one line a failed command says, checked to be one and not a traceback or a usage block."""
    said = result.stderr.strip().splitlines()
    assert len(said) == 1, result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and "Usage:" not in result.output
    return said[0]


# -- top's outputs -------------------------------------------------------------------------------------------------


def test_a_contact_sheet_into_a_missing_folder_is_one_line_before_any_work(tmp_path):
    result = invoke("top", "happy", str(SAMPLES), "--html", str(tmp_path / "missing" / "sheet.html"))
    assert result.exit_code == 2
    assert "--html" in one_line(result) and "no such folder" in one_line(result)
    assert not (tmp_path / "missing").exists()


@pytest.mark.slow
@pytest.mark.parametrize("option", ["--html", "--copy-to", "--link-to"])
def test_top_into_a_read_only_folder_is_one_line_before_any_work(tmp_path, option):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    target = folder / "sheet.html" if option == "--html" else folder / "album"
    command = [sys.executable, "-m", "emotag.cli", "top", "happy", str(SAMPLES), option, str(target)]
    result = subprocess.run(without_file_permission_override(*command), capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    said = result.stderr.strip().splitlines()
    assert len(said) == 1 and "cannot write there (permission denied)" in said[0], result.stderr
    assert not list(folder.iterdir()), "nothing may be left in the folder"


@pytest.mark.slow
def test_a_name_that_is_not_utf8_among_the_top_photos(tmp_path):
    """An old archive's caf\\xe9.jpg among the best: listed as stored, on the sheet, and no temporary file left."""
    folder = tmp_path / "archive"
    folder.mkdir()
    photo = Path(os.fsdecode(os.fsencode(folder) + b"/caf\xe9.jpg"))
    shutil.copy(HAPPY, photo)
    sheet = tmp_path / "sheet.html"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "emotag.cli",
            "top",
            "happy",
            str(folder),
            "--html",
            str(sheet),
            "--copy-to",
            str(tmp_path / "album"),
        ],
        capture_output=True,
        timeout=300,
        env={**os.environ, "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8:strict"},  # a strict terminal
    )
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr
    assert b"caf\xe9.jpg" in result.stdout  # a terminal shows the name as stored
    page = sheet.read_text(encoding="utf-8")  # valid UTF-8, the name shown in it
    assert "caf\\udce9.jpg" in page or "caf\ufffd.jpg" in page
    assert sorted(os.listdir(tmp_path)) == ["album", "archive", "sheet.html"], "a temporary file was left"
    assert b"001_caf\xe9.jpg" in os.listdir(os.fsencode(tmp_path / "album"))


# -- the configuration ---------------------------------------------------------------------------------------------

WRONG_CONFIGS = {
    'tags = "Emotion"': "[tags]",
    '[tags]\nlabels = "x"': "[tags.labels]",
    '[tags.labels]\nhappy = ""': "happy",
    '[tags]\nroot = ""': "root",
    "max_side = 0": "max_side",
    "min_face = -5": "min_face",
    "[tags.labels]\nhappy = 5": "happy",
    "jobs = -1": "jobs",
    "[thresholds]\nhappy = 5": "[thresholds] happy",
    '[thresholds]\nhappy = "high"': "[thresholds] happy",
    'thresholds = "x"': "[thresholds]",
    "max_side = true": "max_side",
    "min_confidence = 1.5": "min_confidence",
    'exclude = "Rejects"': "exclude",
    '[tags]\nleave_out = ["bored"]': "leave_out",
}


@pytest.mark.parametrize("command", ["config", "tag", "show"])
@pytest.mark.parametrize("text", list(WRONG_CONFIGS))
def test_a_config_of_the_wrong_shape_or_a_nonsense_value_is_one_line_naming_the_setting(private_state, text, command):
    config = private_state / "config.toml"
    config.write_text(text + "\n")
    result = invoke(command, *([] if command == "config" else [str(HAPPY)]))
    assert result.exit_code == 2
    said = one_line(result)
    assert said.startswith(f"emotag: {config}: ") and WRONG_CONFIGS[text] in said, said
    assert "--help" not in said, "a config error is not a misused command"


def test_a_sound_config_with_every_setting_is_taken(private_state):
    (private_state / "config.toml").write_text(
        'min_confidence = 1\njobs = 2\nmax_side = 800\nmin_face = 0\nexclude = ["Rejects"]\nsidecar_always = true\n'
        '[tags]\nroot = "Mood"\nflat = true\nleave_out = ["Neutral"]\n[tags.labels]\nhappy = "Froh"\n'
    )
    result = invoke("config")
    assert result.exit_code == 0, result.output
    for line in ("min_confidence = 1.0", 'exclude = ["Rejects"]', "flat = true", 'leave_out = ["neutral"]'):
        assert line in result.stdout


# -- --cluster -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("address", ["tcp://127.0.0.1", "bogus", "tcp://127.0.0.1:x", "ftp://host:8786", "tcp://:8786"])
def test_a_malformed_cluster_address_is_one_line_at_once(address):
    pytest.importorskip("distributed")
    started = time.monotonic()
    result = invoke("tag", str(HAPPY), "--cluster", address)
    assert time.monotonic() - started < 10
    assert result.exit_code == 2 and "--cluster" in one_line(result)


def test_a_well_formed_cluster_address_is_taken():
    pytest.importorskip("distributed")
    from emotag.cluster import parse_cluster

    for address in ("tcp://127.0.0.1:8786", "tls://scheduler.lan:8786", "10.0.0.5:8786", "tcp://[::1]:8786"):
        assert parse_cluster(address) == address
    assert parse_cluster("local:2") == 2


# -- paths ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command", [["tag"], ["untag"], ["top", "happy"], ["show"], ["watch"], ["tag", "--dry-run", str(HAPPY)]]
)
def test_a_mistyped_path_is_a_usage_error(tmp_path, command):
    result = invoke(*command, str(tmp_path / "Picturs"))
    assert result.exit_code == 2
    said = one_line(result)
    assert "Picturs" in said and ("no such file or folder" in said or "does not exist" in said), said


# -- stopping `emotag tag` -----------------------------------------------------------------------------------------


def descendants(pid: int) -> list:
    import psutil

    return psutil.Process(pid).children(recursive=True)


def still_running(processes) -> list:
    import psutil

    alive = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(f"{process.pid} {process.name()}")
        except psutil.NoSuchProcess:
            pass
    return alive


@pytest.mark.slow
@pytest.mark.parametrize(
    ("jobs", "number", "to_group", "twice"),
    [
        ("2", signal.SIGTERM, False, False),  # kill PID, or systemd stopping a unit
        ("2", signal.SIGINT, True, False),  # Ctrl-C in a terminal: the whole process group
        ("1", signal.SIGINT, True, False),
        ("2", signal.SIGINT, True, True),  # Ctrl-C twice: stop at once
    ],
)
def test_a_stop_signal_finishes_the_photos_in_hand_prints_the_summary_and_leaves_no_process(
    tmp_path, jobs, number, to_group, twice
):
    pytest.importorskip("psutil")
    folder = tmp_path / "album"
    folder.mkdir()
    for i in range(40):
        shutil.copy(HAPPY, folder / f"{i:02d}.jpg")
    command = [sys.executable, "-m", "emotag.cli", "tag", "--json", "--jobs", jobs, str(folder)]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, bufsize=0)
    try:
        first = run.stdout.readline()  # the first photo is done: workers and ExifTool are running
        assert first, run.stderr.read()
        children = descendants(run.pid)
        assert any(child.name() == "exiftool" for child in children)
        (os.killpg if to_group else os.kill)(run.pid, number)
        if twice:
            time.sleep(0.3)
            os.kill(run.pid, number)
        stopped = time.monotonic()
        rest, errors = run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    took = time.monotonic() - stopped
    errors = errors.decode()
    assert run.returncode == 128 + number, errors
    assert took < (5 if twice else 30), took
    assert "Traceback" not in errors and "Aborted!" not in errors and "ExifTool stopped" not in errors, errors
    summary = errors.strip().splitlines()[-1]
    stopped_by = "SIGTERM" if number == signal.SIGTERM else "Ctrl-C"
    assert f"stopped by {stopped_by}" in summary and "not looked at" in summary, summary
    looked = int(summary.split(" photo")[0])
    assert 1 <= looked < 40 and looked == 1 + len(rest.splitlines()), summary
    deadline = time.monotonic() + 10
    while still_running(children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not still_running(children), "left running after emotag ended"
    if not twice:
        assert not list(folder.glob("*_exiftool_tmp")), "a write was cut off"
    again = run_emotag("tag", "--json", "--jobs", jobs, str(folder), check=True)
    statuses = [record["status"] for record in json_lines(again.stdout)]
    assert len(statuses) == 40 and set(statuses) <= {"tagged", "unchanged"}, statuses
    if not twice:
        assert statuses.count("tagged") == 40 - looked, "the photos in hand must have been finished and recorded"


# -- a photo another program is writing ----------------------------------------------------------------------------


def test_a_lock_held_too_long_is_given_up_soon_after_saying_so(tmp_path):
    from emotag.locks import WAIT_SECONDS, LockTimeout, photo_lock

    assert WAIT_SECONDS <= 10, "a write takes milliseconds: a minute per photo holds a run up for nothing"
    photo = tmp_path / "p.jpg"
    shutil.copy(CAT, photo)
    holder = os.open(photo, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    told = []
    started = time.monotonic()
    try:
        with (
            pytest.raises(LockTimeout, match="another program kept this photo locked for 1.5 s"),
            photo_lock(photo, wait=1.5, on_wait=lambda: told.append(time.monotonic() - started)),
        ):
            pass
    finally:
        os.close(holder)
    assert len(told) == 1 and 0.9 <= told[0] <= 1.5
    with photo_lock(photo, wait=1.5, on_wait=lambda: told.append("again")):
        pass
    assert len(told) == 1, "a free photo is not waited for"


@pytest.mark.slow
def test_tag_says_it_waits_for_a_photo_another_program_is_writing(tmp_path):
    photo = tmp_path / "p.jpg"
    shutil.copy(HAPPY, photo)
    holder = os.open(photo, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    run = subprocess.Popen(
        [sys.executable, "-m", "emotag.cli", "tag", str(photo)], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    try:
        os.set_blocking(run.stderr.fileno(), False)
        said = b""
        deadline = time.monotonic() + 60
        while b"another program is writing this photo" not in said and time.monotonic() < deadline:
            time.sleep(0.1)
            said += run.stderr.read() or b""
        assert run.poll() is None, "it must still be waiting"
    finally:
        os.close(holder)
    os.set_blocking(run.stderr.fileno(), True)
    said += run.communicate(timeout=60)[1]
    text = said.decode()
    assert run.returncode == 0, text
    assert f"emotag: {photo}: another program is writing this photo; waiting up to" in text
    assert "1 photo, 1 face: 1 tagged" in text


# -- wording -------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_one_is_singular(tmp_path):
    from emotag.presentation import summary

    shutil.copy(HAPPY, tmp_path / "happy.jpg")
    (tmp_path / "empty.jpg").write_bytes(b"")
    one = run_emotag("tag", str(tmp_path / "happy.jpg"))
    assert one.returncode == 0 and one.stderr.startswith("1 photo, 1 face: 1 tagged"), one.stderr
    two = run_emotag("tag", str(tmp_path))
    assert two.returncode == 1 and two.stderr.strip().splitlines()[-1].startswith(
        "2 photos, 0 faces: "
    )  # one known done
    assert ", 1 error, " in two.stderr
    assert summary({"error": 1}).endswith("1 error") and summary({}).endswith("0 errors")


def test_help_shows_every_default():
    """Every option that takes a value says what it is when it is not given (flags are off unless given)."""
    nothing_unless_asked = {"copy_to", "link_to", "html_file"}  # no album, no contact sheet
    top = click.Context(main, info_name="emotag", **main.context_settings)
    for name, command in main.commands.items():
        context = click.Context(command, info_name=name, parent=top)
        for option in command.params:
            if not isinstance(option, click.Option) or option.is_flag or option.name in nothing_unless_asked:
                continue
            record = option.get_help_record(context)
            assert record and "default:" in record[1], f"emotag {name} {option.opts[0]}: {record}"


@pytest.mark.slow
def test_errors_are_in_a_photographers_words(tmp_path):
    data = HAPPY.read_bytes()
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "random.jpg").write_bytes(os.urandom(5000))
    with Image.open(HAPPY) as image:  # a face, so a write is tried (and refused by ExifTool)
        image.convert("RGB").resize((400, 400)).save(tmp_path / "png-named.jpg", "PNG")
    (tmp_path / "text.png").write_text("not a picture")
    result = run_emotag("tag", "--jobs", "1", str(tmp_path))
    lines = [line for line in result.stderr.splitlines() if line.startswith("emotag: ")]
    assert result.returncode == 1 and len(lines) == 5, result.stderr
    for raw in ("Pillow", "cannot decode", "File format error", "Not a valid", "File is empty", "not processed"):
        assert raw not in result.stderr, f"{raw!r} is the library's wording: {result.stderr}"
    said = {Path(line.split(": ")[1]).name: line for line in lines}
    assert "the file is empty" in said["empty.jpg"]
    assert "stops short" in said["truncated.jpg"]
    assert "looks like a PNG" in said["png-named.jpg"]


# -- show ----------------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_show_on_several_photos_and_on_one_tag_found_no_faces_in(tmp_path):
    happy, cat = Path(shutil.copy(HAPPY, tmp_path)), Path(shutil.copy(CAT, tmp_path))
    run_emotag("tag", str(happy), str(cat), check=True)
    text = run_emotag("show", str(happy), str(cat), check=True).stdout
    blocks = text.strip().split("\n\n")
    assert len(blocks) == 2 and blocks[0].startswith(f"{happy}: 1 face, from emotag's tags"), text
    assert blocks[1].startswith(f"{cat}: 0 faces") and "emotag tag found no faces" in blocks[1], text
    assert "not tagged yet" not in text
    described = json_lines(run_emotag("show", "--json", str(happy), str(cat), check=True).stdout)
    assert [(d["status"], d["tagged"]) for d in described] == [("tagged", True), ("no_faces", False)]
    fresh = Path(shutil.copy(CAT, tmp_path / "fresh.jpg"))
    assert "not tagged yet" in run_emotag("show", str(fresh), check=True).stdout


def test_a_misused_command_is_one_line_and_emotag_alone_shows_the_help():
    for args in (["tag"], ["tgs"], ["tag", str(HAPPY), "--jobs", "-3"], ["top", "smug", str(HAPPY)]):
        result = invoke(*args)
        assert result.exit_code == 2 and "--help" in one_line(result), args
    alone = invoke()
    assert "Usage: emotag [OPTIONS] COMMAND" in alone.output and "tag" in alone.output
