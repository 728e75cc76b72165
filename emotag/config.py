"""Defaults, the user's TOML file over them, the command line over both."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from emotag.emotions import EMOTIONS
from emotag.metadata import SIDECAR_STYLES
from emotag.photos import DEFAULT_MAX_SIDE
from emotag.tags import DEFAULT_EYES_CLOSED, DEFAULT_LABELS, DEFAULT_ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class ConfigError(Exception):
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
    min_face: int = 32
    max_side: int = DEFAULT_MAX_SIDE


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
    tags = data.pop("tags", {})
    config.root = str(tags.get("root", config.root))
    if not isinstance(tags.get("eyes_closed", ""), str):
        raise ConfigError(f"{path}: 'eyes_closed' in [tags] should be a str")
    config.eyes_closed = tags.get("eyes_closed", config.eyes_closed)
    for emotion, label in tags.get("labels", {}).items():
        if emotion not in EMOTIONS:
            raise ConfigError(f"{path}: unknown emotion '{emotion}' in [tags.labels] (known: {', '.join(EMOTIONS)})")
        config.labels[emotion] = str(label)
    thresholds = data.pop("thresholds", {})
    if not isinstance(thresholds, dict):
        raise ConfigError(f"{path}: [thresholds] should be a table of emotions and numbers")
    for emotion, value in thresholds.items():
        if emotion not in EMOTIONS:
            raise ConfigError(f"{path}: unknown emotion '{emotion}' in [thresholds] (known: {', '.join(EMOTIONS)})")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path}: [thresholds] {emotion} should be a number from 0 to 1")
        config.thresholds[emotion] = float(value)
    for key, value in data.items():
        if not hasattr(config, key) or key in ("labels", "root", "thresholds", "eyes_closed"):
            raise ConfigError(f"{path}: unknown setting '{key}'")
        expected = float if key == "min_confidence" else type(getattr(config, key))
        if expected is float and isinstance(value, int):
            value = float(value)
        if not isinstance(value, expected):
            raise ConfigError(f"{path}: '{key}' should be a {expected.__name__}")
        setattr(config, key, value)
    check(config, str(path))
    return config


def check(config: Config, where: str) -> None:
    if config.min_confidence is not None and not 0 <= config.min_confidence <= 1:
        raise ConfigError(f"{where}: min_confidence must be between 0 and 1")
    for emotion, value in config.thresholds.items():
        if not 0 <= value <= 1:
            raise ConfigError(f"{where}: [thresholds] {emotion} must be between 0 and 1")
    if config.sidecar not in SIDECAR_STYLES:
        raise ConfigError(f"{where}: sidecar must be one of {', '.join(SIDECAR_STYLES)}")
    if any(sep in config.root for sep in "|/") or any(sep in v for v in config.labels.values() for sep in "|/"):
        raise ConfigError(f"{where}: tag names may not contain '|' or '/' (they separate levels)")
    if "/" in config.eyes_closed or (config.eyes_closed and not all(config.eyes_closed.split("|"))):
        raise ConfigError(f"{where}: eyes_closed may use '|' between levels, but no '/' and no empty level")


def as_toml(config: Config, model: dict[str, float] | None = None) -> str:
    """The effective settings, in the file's own format; `model` is the shipped model's thresholds."""
    from emotag.tags import decision_thresholds

    thresholds = decision_thresholds(config.min_confidence, config.thresholds, model or {})
    lines = [
        f"min_confidence = {config.min_confidence}"
        if config.min_confidence is not None
        else "# min_confidence = 0.5  # one threshold for every emotion, over [thresholds]",
        f'sidecar = "{config.sidecar}"',
        f"jobs = {config.jobs}  # 0: one worker per core",
        f"keep_mtime = {str(config.keep_mtime).lower()}",
        f"min_face = {config.min_face}",
        f"max_side = {config.max_side}",
        "",
        "[tags]",
        f'root = "{config.root}"',
        f'eyes_closed = "{config.eyes_closed}"  # keyword of photos with closed eyes ("" for none)',
        "",
        "[tags.labels]",
    ]
    lines += [f'{emotion} = "{label}"' for emotion, label in config.labels.items()]
    lines += ["", "[thresholds]  # the score a face's strongest emotion needs for its tag (the model's own unless set)"]
    lines += [f"{emotion} = {value:g}" for emotion, value in thresholds.items()]
    return "\n".join(lines) + "\n"
