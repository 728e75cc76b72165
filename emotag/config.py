"""Defaults, the user's TOML file over them, the command line over both.

Each setting is declared once, as a field of `Config`: its default, the rule its value must follow (its kind and
its sensible range), the table of the file it sits in, and the note `emotag config` shows beside it. The loader,
the check and `emotag config` are all read off those fields, so a new setting is one new field. A value of the
wrong shape or a nonsense value is one line naming the setting, in the file and from the command line alike.

This module imports nothing heavy (no NumPy, no Pillow), so that the command line can take its choices and
defaults from here and `emotag --help` stays fast; the stages import their defaults from here too.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from emotag.emotions import EMOTIONS
from emotag.errors import EmotagError
from emotag.tags import DEFAULT_EYES_CLOSED, DEFAULT_LABELS, DEFAULT_MIN_CONFIDENCE, DEFAULT_ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SIDECAR_STYLES = ("darktable", "lightroom")
"""How a raw file's sidecar is named: `IMG_1.CR2.xmp` (darktable, digiKam) or `IMG_1.xmp` (Lightroom)."""
DEFAULT_SIDECAR = SIDECAR_STYLES[0]
DEFAULT_JOBS = 0
"""Worker processes: 0 is one per core."""
DEFAULT_MIN_FACE = 24
"""Faces narrower than this (pixels of the photo as displayed) are found but not read. The model learnt from
faces degraded down to 12-36 px (`model_training/degrade.py`), so a 24 px film still is read, not guessed."""
DEFAULT_MAX_SIDE = 1600
"""The long side (pixels) of the image faces are looked for in (`emotag.photos.working_scale`)."""
LISTS = ("exclude", "leave_out")
"""Settings the command line adds to, rather than replaces."""


class ConfigError(EmotagError):
    """The configuration file is unreadable or holds a bad value."""


@dataclass(frozen=True)
class Rule:
    """What a setting must be: `test` says whether a value fits, `wanted` says so to a person."""

    test: Callable[[Any], bool]
    wanted: str


def whole_number(low: int) -> Rule:
    return Rule(
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low, f"a whole number of at least {low}"
    )


def fraction() -> Rule:
    """A confidence: a number between 0 and 1 (also for per-emotion thresholds)."""
    return Rule(
        lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1, "a number between 0 and 1"
    )


def tag_name() -> Rule:
    return Rule(
        lambda v: isinstance(v, str) and bool(v.strip()) and not any(sep in v for sep in "|/"),
        "a name that is not empty and holds no '|' or '/' (they separate levels)",
    )


def emotion_list() -> Rule:
    return Rule(
        lambda v: isinstance(v, list) and all(isinstance(e, str) and e.lower() in EMOTIONS for e in v),
        f"a list of emotions among {', '.join(EMOTIONS)}",
    )


def keyword_path() -> Rule:
    """The closed-eyes keyword: empty (none), or levels joined by '|', none of them empty."""
    return Rule(
        lambda v: isinstance(v, str) and "/" not in v and (v == "" or all(level.strip() for level in v.split("|"))),
        "a keyword, its levels joined by '|' (\"Culling|Eyes closed\"), no '/' and no empty level; \"\" for none",
    )


def optional(rule: Rule) -> Rule:
    """A setting that may be left unset (None: not in the file, nor on the command line)."""
    return Rule(lambda v: v is None or rule.test(v), rule.wanted)


FLAG = Rule(lambda v: isinstance(v, bool), "true or false")
PATTERNS = Rule(
    lambda v: isinstance(v, list) and all(isinstance(p, str) and p.strip() for p in v),
    'a list of folder or file name patterns, such as ["Rejects", "*.tmp.jpg"]',
)
SIDECAR = Rule(lambda v: v in SIDECAR_STYLES, f"one of {', '.join(repr(s) for s in SIDECAR_STYLES)}")
TOP, TAGS, LABELS, THRESHOLDS = "", "[tags]", "[tags.labels]", "[thresholds]"
"""The tables of the file (TOP: its top level); LABELS and THRESHOLDS hold one setting per emotion."""


def setting(default: Any, rule: Rule, table: str = TOP, note: str = "", unset: str = "") -> Any:
    """A field of `Config`: its default, its rule, where it sits in the file, the note `emotag config` writes
    after it, and (for an optional setting) the commented-out line it shows while the setting is unset."""
    metadata = {"rule": rule, "table": table, "note": note, "unset": unset}
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class Config:
    """The values `emotag config` shows, in its order; each one can be set in the file and most on the command
    line (emotag.cli, into `emotag.pipeline.Settings.from_config`)."""

    min_confidence: float | None = setting(
        None,  # one threshold for every emotion; None: each emotion's own
        optional(fraction()),
        unset=f"{DEFAULT_MIN_CONFIDENCE}  # one threshold for every emotion, over [thresholds]",
    )
    sidecar: str = setting(DEFAULT_SIDECAR, SIDECAR)
    sidecar_always: bool = setting(False, FLAG, note="true: an XMP sidecar for every photo")  # originals untouched
    jobs: int = setting(DEFAULT_JOBS, whole_number(0), note="0: one worker per core")
    keep_mtime: bool = setting(False, FLAG)
    min_face: int = setting(DEFAULT_MIN_FACE, whole_number(0))
    max_side: int = setting(DEFAULT_MAX_SIDE, whole_number(1))
    exclude: list[str] = setting([], PATTERNS, note="beside the folders always left alone")  # emotag.exclusions
    root: str = setting(DEFAULT_ROOT, tag_name(), TAGS)
    flat: bool = setting(False, FLAG, TAGS, note="true: keywords without the root above them")
    leave_out: list[str] = setting([], emotion_list(), TAGS, note="emotions never written")  # e.g. neutral
    eyes_closed: str = setting(
        DEFAULT_EYES_CLOSED, keyword_path(), TAGS, note='keyword of photos with closed eyes ("" for none)'
    )
    labels: dict[str, str] = setting(DEFAULT_LABELS, tag_name(), LABELS)
    thresholds: dict[str, float] = setting(  # the user's, per emotion
        {},
        fraction(),
        THRESHOLDS,
        note="the score a face's strongest emotion needs for its tag (the model's own unless set)",
    )


def settings_of(table: str) -> tuple[Field, ...]:
    return tuple(f for f in fields(Config) if f.metadata["table"] == table)


RULES: dict[str, Rule] = {f.name: f.metadata["rule"] for f in settings_of(TOP)}
"""The top-level settings of the file."""
TAGS_RULES: dict[str, Rule] = {f.name: f.metadata["rule"] for f in settings_of(TAGS)}
"""The settings of its [tags] table (and [tags.labels], each label a `tag_name`)."""
PER_EMOTION: dict[str, Field] = {f.metadata["table"]: f for table in (LABELS, THRESHOLDS) for f in settings_of(table)}
"""The tables with one setting per emotion, and the field each fills."""


def config_path() -> Path:
    override = os.environ.get("EMOTAG_CONFIG")
    if override:
        return Path(override)
    from platformdirs import user_config_dir

    return Path(user_config_dir("emotag")) / "config.toml"


def load_config(path: Path | None = None) -> Config:
    """The defaults with the user's file laid over them (a missing file is fine)."""
    path = path or config_path()
    if not path.is_file():
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from None
    tags = table(data.pop("tags", {}), TAGS, path)
    values: dict[str, Any] = {}
    for name, given in ((LABELS, tags.pop("labels", {})), (THRESHOLDS, data.pop("thresholds", {}))):
        values.update(per_emotion(name, table(given, name, path), path))
    for key in tags:
        if key not in TAGS_RULES:
            raise ConfigError(f"{path}: unknown setting '{key}' in [tags] (known: labels, {', '.join(TAGS_RULES)})")
    for key, value in data.items():
        if key not in RULES:
            raise ConfigError(f"{path}: unknown setting '{key}'")
        if key == "min_confidence" and isinstance(value, int) and not isinstance(value, bool):
            data[key] = float(value)
    config = replace(Config(), **values, **tags, **data)
    check(config, str(path))
    return replace(config, leave_out=[emotion.lower() for emotion in config.leave_out])


def per_emotion(name: str, given: dict, path: Path) -> dict[str, dict]:
    """A table of one value per emotion (labels, thresholds), each checked, laid over the field's default."""
    setting = PER_EMOTION[name]
    values = setting.default_factory()
    for emotion, value in given.items():
        if emotion not in EMOTIONS:
            raise ConfigError(f"{path}: unknown emotion '{emotion}' in {name} (known: {', '.join(EMOTIONS)})")
        require(f"{name} {emotion}", value, setting.metadata["rule"], path)
        values[emotion] = float(value) if name == THRESHOLDS else value
    return {setting.name: values}


def overridden(config: Config, options: Mapping[str, Any], where: str = "command line") -> Config:
    """`config` with the command line's options laid over it: a value given replaces the file's (None: not
    given), a list given adds to it (`LISTS`); options that are no setting of the file (`--force`) are passed by."""
    names = {f.name for f in fields(Config)}
    changes = {}
    for key, value in options.items():
        if key in LISTS and value:
            changes[key] = [*getattr(config, key), *value]
        elif value is not None and key not in LISTS and key in names:
            changes[key] = value
    config = replace(config, **changes)
    check(config, where)
    return config


def table(value: Any, name: str, path: Path) -> dict:
    """A TOML table, or one line saying that the setting should be one (`tags = "Emotion"`)."""
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: {name} should be a table of settings, not {shape(value)}")
    return dict(value)


def require(name: str, value: Any, rule: Rule, where: str | Path) -> None:
    if not rule.test(value):
        raise ConfigError(f"{where}: {name} must be {rule.wanted} (it is {shape(value)})")


def shape(value: Any) -> str:
    """A value as a person reads it in the file."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "[" + ", ".join(shape(item) for item in value) + "]"
    return repr(value)


def check(config: Config, where: str) -> None:
    """Refuse a setting of the wrong kind or out of its range, naming it (file and command line alike)."""
    for f in fields(config):
        table_name, rule, value = f.metadata["table"], f.metadata["rule"], getattr(config, f.name)
        if table_name in PER_EMOTION:
            for emotion, each in value.items():
                require(f"{table_name} {emotion}", each, rule, where)
        else:
            require(f"{table_name} {f.name}".strip(), value, rule, where)


def as_toml(config: Config, model: dict[str, float] | None = None) -> str:
    """The effective settings in the file's own format, a line a field under its table; `model` is the shipped
    model's thresholds ([thresholds] shows those in effect: the user's, else the model's)."""
    from emotag.tags import decision_thresholds

    lines: list[str] = []
    current = TOP
    for f in fields(config):
        name, table_name, note = f.name, f.metadata["table"], f.metadata["note"]
        note = f"  # {note}" if note else ""
        value = getattr(config, name)
        if table_name != current:
            lines += ["", table_name + (note if table_name in PER_EMOTION else "")]
            current = table_name
        if name == "thresholds":
            lines += [
                f"{emotion} = {each:g}"
                for emotion, each in decision_thresholds(config.min_confidence, value, model or {}).items()
            ]
        elif table_name in PER_EMOTION:
            lines += [f"{emotion} = {toml_value(each)}" for emotion, each in value.items()]
        elif value is None:
            lines.append(f"# {name} = {f.metadata['unset']}")
        else:
            lines.append(f"{name} = {toml_value(value)}{note}")
    return "\n".join(lines) + "\n"


def toml_value(value: Any) -> str:
    """A setting as the file spells it (a string in quotes, as emotag has always shown it)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return toml_list(value)
    return str(value)


def toml_list(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(value, ensure_ascii=False) for value in values) + "]"
