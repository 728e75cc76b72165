"""The one build step pyproject.toml cannot say: the shipped model goes into the package.

`models/` stays the source of truth (the lead replaces its files with each model version). Which files make the
runtime model is read from `models/expression-model.json` at build time, never written here: the card itself,
the network file it names as `runtime`, and the model card README. The sdist carries them in `models/`; the
wheel carries them in `emotag/model/`, where an installed emotag looks first (`emotag.expressions.model_folder`).
TensorFlow's `.keras` weights stay out of both: they are for training and tests.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

MODELS = "models"
CARD = "expression-model.json"
BUNDLED = Path("emotag") / "model"


def model_files(folder: Path) -> list[str]:
    """The files of the runtime model, as the card in `folder` names them."""
    card = json.loads((folder / CARD).read_text(encoding="utf-8"))
    names = [CARD, str(card["runtime"]), "README.md"]
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        raise SystemExit(f"{folder}: the model card names files that are not there: {', '.join(missing)}")
    return names


def copy_model(source: Path, destination: Path) -> list[str]:
    """Copy the runtime model from `source` into an empty `destination` (an older model's files never linger)."""
    shutil.rmtree(destination, ignore_errors=True)
    destination.mkdir(parents=True)
    copied = []
    for name in model_files(source):
        shutil.copyfile(source / name, destination / name)
        copied.append(str(destination / name))
    return copied


class BuildWithModel(build_py):
    """Builds the package with a copy of the runtime model inside it."""

    def run(self) -> None:
        super().run()
        if not getattr(self, "editable_mode", False):  # an editable install reads models/ of the checkout
            self._model_outputs = copy_model(Path(MODELS), Path(self.build_lib) / BUNDLED)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return super().get_outputs(include_bytecode) + getattr(self, "_model_outputs", [])


class SdistWithModel(sdist):
    """An sdist carries the runtime model in `models/`, so a wheel built from it has one."""

    def make_release_tree(self, base_dir: str, files) -> None:
        super().make_release_tree(base_dir, files)
        copy_model(Path(MODELS), Path(base_dir) / MODELS)


setup(cmdclass={"build_py": BuildWithModel, "sdist": SdistWithModel})
