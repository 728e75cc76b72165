"""The command line's one error handler, in-process with click's CliRunner (fast: no model is loaded): a misused
command is one line and exit status 2; an `EmotagError` is `emotag: ...` and 1; anything else is a bug and keeps
its traceback."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from emotag.cli import Emotag, main
from emotag.errors import EmotagError
from tests.helpers import HAPPY_PHOTO, SAMPLES

HAPPY = str(SAMPLES / HAPPY_PHOTO)


def invoke(command, *args: str):
    return CliRunner().invoke(command, list(args), prog_name="emotag")


def said(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output and "Usage:" not in result.output, result.output
    return lines[0]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["tag", HAPPY, "--cluster", "local:2", "--jobs", "2"], "--jobs counts local workers"),
        (["top", "happy", HAPPY, "--copy-to", "a", "--link-to", "b"], "choose one of --copy-to and --link-to"),
        (["watch"], "name at least one folder to watch"),
        (["tag", HAPPY, "--sidecar", "capture-one"], "'capture-one' is not one of 'darktable', 'lightroom'"),
        (["tag", HAPPY, "--min-confidence", "2"], "--min-confidence"),
        (["tag", HAPPY, "--leave-out", "smug"], "--leave-out"),
        (["untag"], "Missing argument 'PATHS...'"),
        (["report", "--bogus", HAPPY], "No such option '--bogus'"),
    ],
)
def test_a_misused_command_is_one_line_naming_the_mistake_and_status_2(args, words):
    result = invoke(main, *args)
    assert result.exit_code == 2, result.output
    line = said(result)
    command = f"emotag {args[0]}"
    assert line.startswith(f"{command}: ") and words in line and line.endswith(f"(see '{command} --help')"), line


def test_a_config_emotag_cannot_use_is_one_line_and_status_2(private_state):
    (private_state / "config.toml").write_text("jobs = -1\n")
    result = invoke(main, "report", HAPPY)
    assert result.exit_code == 2 and said(result).startswith(f"emotag: {private_state / 'config.toml'}: ")


def test_an_emotag_error_is_one_line_and_status_1_and_a_bug_keeps_its_traceback():
    @click.group(cls=Emotag)
    def group() -> None:
        pass

    @group.command()
    def refused() -> None:
        raise EmotagError("the ledger's folder is read-only")

    @group.command()
    def bug() -> None:
        raise RuntimeError("a bug")

    result = invoke(group, "refused")
    assert result.exit_code == 1 and said(result) == "emotag: the ledger's folder is read-only"
    result = invoke(group, "bug")
    assert isinstance(result.exception, RuntimeError), "a bug is not a message: it shows its traceback"
