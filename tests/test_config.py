"""The configuration loader on its own, in this process: real TOML files in a temporary folder, no `emotag`
process. (What a user sees of a bad file is in test_clean_failures.py; the keywords a file changes, test_tag.py.)"""

from __future__ import annotations

from dataclasses import fields, replace

import pytest

from emotag.config import (
    DEFAULT_MAX_SIDE,
    DEFAULT_MIN_FACE,
    DEFAULT_SIDECAR,
    SIDECAR_STYLES,
    Config,
    ConfigError,
    as_toml,
    config_path,
    load_config,
    overridden,
    tomllib,
)
from emotag.emotions import EMOTIONS
from emotag.pipeline import Settings
from emotag.tags import DEFAULT_LABELS


def written(tmp_path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_is_the_defaults(tmp_path):
    config = load_config(tmp_path / "missing.toml")
    assert config == Config()
    assert (config.sidecar, config.min_face, config.max_side) == (DEFAULT_SIDECAR, DEFAULT_MIN_FACE, DEFAULT_MAX_SIDE)
    assert config.labels == DEFAULT_LABELS and config.labels is not DEFAULT_LABELS
    assert DEFAULT_SIDECAR in SIDECAR_STYLES


def test_the_file_is_laid_over_the_defaults(tmp_path):
    path = written(
        tmp_path,
        'min_confidence = 1\njobs = 2\nsidecar = "lightroom"\nexclude = ["Rejects"]\n'
        '[tags]\nroot = "Mood"\nleave_out = ["Neutral"]\n[tags.labels]\nhappy = "Froh"\n[thresholds]\nsad = 0\n',
    )
    config = load_config(path)
    assert config.min_confidence == 1.0 and isinstance(config.min_confidence, float)
    assert (config.jobs, config.sidecar, config.exclude, config.root) == (2, "lightroom", ["Rejects"], "Mood")
    assert config.leave_out == ["neutral"]
    assert config.labels == {**DEFAULT_LABELS, "happy": "Froh"}
    assert config.thresholds == {"sad": 0.0} and isinstance(config.thresholds["sad"], float)
    assert config.max_side == DEFAULT_MAX_SIDE, "what the file does not set keeps its default"


def test_the_environment_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("EMOTAG_CONFIG", str(tmp_path / "elsewhere.toml"))
    assert config_path() == tmp_path / "elsewhere.toml"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("bogus = 1", "unknown setting 'bogus'"),
        ('root = "Mood"', "unknown setting 'root'"),
        ("[tags]\nbogus = 1", "unknown setting 'bogus' in [tags] (known: labels, root"),
        ("[tags.labels]\ncheerful = 'x'", "unknown emotion 'cheerful' in [tags.labels]"),
        ("[thresholds]\ncheerful = 0.5", "unknown emotion 'cheerful' in [thresholds]"),
        ('sidecar = "capture one"', "sidecar must be one of 'darktable', 'lightroom'"),
        ("min_confidence = true", "min_confidence must be a number between 0 and 1 (it is true)"),
        ('[tags]\neyes_closed = "Culling||Eyes"', "[tags] eyes_closed must be a keyword"),
        ("[tags]\nflat = 1", "[tags] flat must be true or false (it is 1)"),
        ("[tags.labels]\nhappy = 'a|b'", "[tags.labels] happy must be a name"),
        ("keep_mtime = 'yes'", 'keep_mtime must be true or false (it is "yes")'),
        ("x = [", "Invalid value"),
    ],
)
def test_a_bad_file_is_one_error_naming_the_file_and_the_setting(tmp_path, text, said):
    path = written(tmp_path, text + "\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value).startswith(f"{path}: ") and said in str(raised.value), raised.value


def test_a_file_that_is_not_text_is_one_error(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match=str(path)):
        load_config(path)


def test_the_command_line_replaces_values_and_adds_to_lists(tmp_path):
    config = load_config(written(tmp_path, 'jobs = 2\nexclude = ["Rejects"]\n[tags]\nleave_out = ["fear"]\n'))
    options = {"jobs": None, "min_face": 40, "exclude": ("Drafts",), "leave_out": (), "force": True, "as_json": True}
    laid = overridden(config, options)
    assert (laid.jobs, laid.min_face, laid.exclude, laid.leave_out) == (2, 40, ["Rejects", "Drafts"], ["fear"])
    assert config.min_face == DEFAULT_MIN_FACE and config.exclude == ["Rejects"], "the file's values are left as read"


def test_a_bad_value_from_the_command_line_names_the_command_line():
    with pytest.raises(ConfigError, match="^command line: max_side must be a whole number of at least 1"):
        overridden(Config(), {"max_side": 0})


def test_settings_take_every_setting_they_share_with_the_config(tmp_path):
    config = load_config(
        written(
            tmp_path,
            'min_confidence = 0.4\nsidecar = "lightroom"\nmax_side = 800\nmin_face = 0\nkeep_mtime = true\n'
            'sidecar_always = true\nexclude = ["Rejects"]\n[tags]\nroot = "Mood"\nflat = true\nleave_out = ["Sad"]\n'
            'eyes_closed = ""\n[thresholds]\nhappy = 0.9\n',
        )
    )
    settings = Settings.from_config(config, force=True)
    shared = {f.name for f in fields(Settings)} & {f.name for f in fields(Config)}
    assert shared == {
        "min_confidence",
        "thresholds",
        "sidecar",
        "max_side",
        "min_face",
        "keep_mtime",
        "sidecar_always",
        "exclude",
    }
    for name in shared - {"exclude"}:
        assert getattr(settings, name) == getattr(config, name), name
    assert settings.exclude == ("Rejects",) and settings.force and not settings.dry_run
    scheme = settings.scheme
    assert (scheme.root, scheme.flat, scheme.eyes_closed, set(scheme.leave_out)) == ("Mood", True, "", {"sad"})
    assert Settings.from_config(Config()) == Settings(), "the defaults are the same defaults"


def test_config_output_shows_every_setting_and_reads_back_as_the_same_config(tmp_path):
    config = load_config(written(tmp_path, 'min_confidence = 0.25\nexclude = ["a \\"b\\""]\n[tags]\nroot = "Mood"\n'))
    shown = as_toml(config, model={emotion: 0.5 for emotion in EMOTIONS})
    read_back = tomllib.loads(shown)
    tags = read_back.pop("tags")
    assert set(read_back) | set(tags) == {f.name for f in fields(Config)}
    assert replace(load_config(written(tmp_path, shown)), thresholds={}) == config, "the thresholds shown: in effect"
    assert read_back["thresholds"] == {emotion: 0.25 for emotion in EMOTIONS}, "one threshold for all, in effect"
    assert "# min_confidence = " in as_toml(Config(), model={}), "an unset setting is shown commented out"
