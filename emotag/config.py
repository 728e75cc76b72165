"""Defaults, the user's TOML file over them, the command line over both.

Every setting is checked against one rule (its kind and its sensible range), so a value of the wrong shape or a
nonsense value is one line naming the setting, in the file and from the command line alike.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emotag.emotions import EMOTIONS
from emotag.errors import EmotagError
from emotag.faces import DEFAULT_MIN_FACE
from emotag.photos import DEFAULT_MAX_SIDE
from emotag.sidecars import SIDECAR_STYLES
from emotag.tags import DEFAULT_EYES_CLOSED, DEFAULT_LABELS, DEFAULT_ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ConfigError(EmotagError):
    """The configuration file is unreadable or holds a bad value."""


@dataclass
class Config:
    """The values `emotag config` shows; each one can be set in the file and most on the command line."""

    min_confidence: float | None = None  # one threshold for every emotion; None: each emotion's own
    thresholds: dict[str, float] = field(default_factory=dict)  # [thresholds]: the user's, per emotion
    root: str = DEFAULT_ROOT
    labels: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_LABELS))
    eyes_closed: str = DEFAULT_EYES_CLOSED  # [tags] eyes_closed: the closed-eyes keyword; "" for none
    sidecar: str = "darktable"
    jobs: int = 0  # 0: one worker per core
    keep_mtime: bool = False
    min_face: int = DEFAULT_MIN_FACE
    max_side: int = DEFAULT_MAX_SIDE
    exclude: list[str] = field(default_factory=list)  # beside the folders always left alone (emotag.exclusions)
    sidecar_always: bool = False  # an XMP sidecar for every photo: originals never modified
    leave_out: list[str] = field(default_factory=list)  # emotions never written (e.g. neutral)
    flat: bool = False  # keywords without the root above them


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


FLAG = Rule(lambda v: isinstance(v, bool), "true or false")
PATTERNS = Rule(
    lambda v: isinstance(v, list) and all(isinstance(p, str) and p.strip() for p in v),
    'a list of folder or file name patterns, such as ["Rejects", "*.tmp.jpg"]',
)


def optional(rule: Rule) -> Rule:
    """A setting that may be left unset (None: not in the file, nor on the command line)."""
    return Rule(lambda v: v is None or rule.test(v), rule.wanted)


RULES: dict[str, Rule] = {
    "min_confidence": optional(fraction()),
    "sidecar": Rule(lambda v: v in SIDECAR_STYLES, f"one of {', '.join(repr(s) for s in SIDECAR_STYLES)}"),
    "jobs": whole_number(0),
    "keep_mtime": FLAG,
    "min_face": whole_number(0),
    "max_side": whole_number(1),
    "exclude": PATTERNS,
    "sidecar_always": FLAG,
}
"""The top-level settings of the file."""


def keyword_path() -> Rule:
    """The closed-eyes keyword: empty (none), or levels joined by '|', none of them empty."""
    return Rule(
        lambda v: isinstance(v, str) and "/" not in v and (v == "" or all(level.strip() for level in v.split("|"))),
        "a keyword, its levels joined by '|' (\"Culling|Eyes closed\"), no '/' and no empty level; \"\" for none",
    )


TAGS_RULES: dict[str, Rule] = {
    "root": tag_name(),
    "leave_out": emotion_list(),
    "flat": FLAG,
    "eyes_closed": keyword_path(),
}
"""The settings of its [tags] table (and [tags.labels], each label a `tag_name`)."""
PER_EMOTION: dict[str, Rule] = {"[tags.labels]": tag_name(), "[thresholds]": fraction()}
"""The tables with one setting per emotion, and what each must be."""


def config_path() -> Path:
    override = os.environ.get("EMOTAG_CONFIG")
    if override:
        return Path(override)
    from platformdirs import user_config_dir

    return Path(user_config_dir("emotag")) / "config.toml"


def load_config(path: Path | None = None) -> Config:
    """The defaults with the user's file laid over them (a missing file is fine)."""
    path = path or config_path()
    config = Config()
    if not path.is_file():
        return config
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{path}: {error}") from None
    tags = table(data.pop("tags", {}), "[tags]", path)
    labels = table(tags.pop("labels", {}), "[tags.labels]", path)
    for emotion, label in labels.items():
        if emotion not in EMOTIONS:
            raise ConfigError(f"{path}: unknown emotion '{emotion}' in [tags.labels] (known: {', '.join(EMOTIONS)})")
        require(f"[tags.labels] {emotion}", label, tag_name(), path)
        config.labels[emotion] = label
    thresholds = table(data.pop("thresholds", {}), "[thresholds]", path)
    for emotion, value in thresholds.items():
        if emotion not in EMOTIONS:
            raise ConfigError(f"{path}: unknown emotion '{emotion}' in [thresholds] (known: {', '.join(EMOTIONS)})")
        require(f"[thresholds] {emotion}", value, fraction(), path)
        config.thresholds[emotion] = float(value)
    for key, value in tags.items():
        if key not in TAGS_RULES:
            raise ConfigError(f"{path}: unknown setting '{key}' in [tags] (known: labels, {', '.join(TAGS_RULES)})")
        setattr(config, key, value)
    for key, value in data.items():
        if key not in RULES:
            raise ConfigError(f"{path}: unknown setting '{key}'")
        if key == "min_confidence" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        setattr(config, key, value)
    check(config, str(path))
    config.leave_out = [emotion.lower() for emotion in config.leave_out]
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
    for key, rule in RULES.items():
        require(key, getattr(config, key), rule, where)
    for key, rule in TAGS_RULES.items():
        require(f"[tags] {key}", getattr(config, key), rule, where)
    for table_name, values in (("[tags.labels]", config.labels), ("[thresholds]", config.thresholds)):
        for emotion, value in values.items():
            require(f"{table_name} {emotion}", value, PER_EMOTION[table_name], where)


def as_toml(config: Config, model: dict[str, float] | None = None) -> str:
    """The effective settings, in the file's own format; `model` is the shipped model's thresholds."""
    from emotag.tags import decision_thresholds

    thresholds = decision_thresholds(config.min_confidence, config.thresholds, model or {})
    lines = [
        f"min_confidence = {config.min_confidence}"
        if config.min_confidence is not None
        else "# min_confidence = 0.5  # one threshold for every emotion, over [thresholds]",
        f'sidecar = "{config.sidecar}"',
        f"sidecar_always = {str(config.sidecar_always).lower()}  # true: an XMP sidecar for every photo",
        f"jobs = {config.jobs}  # 0: one worker per core",
        f"keep_mtime = {str(config.keep_mtime).lower()}",
        f"min_face = {config.min_face}",
        f"max_side = {config.max_side}",
        f"exclude = {toml_list(config.exclude)}  # beside the folders always left alone",
        "",
        "[tags]",
        f'root = "{config.root}"',
        f"flat = {str(config.flat).lower()}  # true: keywords without the root above them",
        f"leave_out = {toml_list(config.leave_out)}  # emotions never written",
        f'eyes_closed = "{config.eyes_closed}"  # keyword of photos with closed eyes ("" for none)',
        "",
        "[tags.labels]",
    ]
    lines += [f'{emotion} = "{label}"' for emotion, label in config.labels.items()]
    lines += ["", "[thresholds]  # the score a face's strongest emotion needs for its tag (the model's own unless set)"]
    lines += [f"{emotion} = {value:g}" for emotion, value in thresholds.items()]
    return "\n".join(lines) + "\n"


def toml_list(values: list[str]) -> str:
    import json

    return "[" + ", ".join(json.dumps(value, ensure_ascii=False) for value in values) + "]"
