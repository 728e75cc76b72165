"""Issue 17, "it installs like any tool": the sdist and wheel carry the model, `emotag --version` names it, and
`./install.sh` works on a stock Debian Python, where pip refuses the system's own environment."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.helpers import HAPPY_PHOTO, NEUTRAL_PHOTO, ROOT, SAMPLES, json_lines, run_emotag

CARD = json.loads((ROOT / "models" / "expression-model.json").read_text())
TRAINING_ONLY = re.compile(r"^(tensorflow|tensorflow-cpu|tf-nightly|keras)\b", re.IGNORECASE)
DEBIAN_PYTHON = Path("/usr/bin/python3")


def runtime_requirements(metadata: str) -> list[str]:
    """The wheel's Requires-Dist lines that a plain `pip install emotag` installs (no extra named)."""
    lines = [line.split(":", 1)[1].strip() for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    return [line for line in lines if "extra ==" not in line]


@pytest.mark.slow
def test_version_names_emotag_and_the_model_it_loads():
    from emotag import __version__

    result = run_emotag("--version", check=True)
    assert result.stdout.strip() == f"emotag {__version__}, expression model {CARD['version']}"


@pytest.mark.slow
def test_version_with_no_model_says_so_in_one_line(tmp_path):
    result = run_emotag("--version", env={"EMOTAG_MODEL_DIR": str(tmp_path)})
    assert result.returncode == 1 and "no expression model" in result.stdout and "Traceback" not in result.stderr


@pytest.mark.slow
def test_sdist_and_wheel_carry_the_model_and_tag_from_another_folder_without_tensorflow(tmp_path):
    """`python -m build` as a packager runs it; the wheel, installed on its own, tags photos elsewhere."""
    dist = tmp_path / "dist"
    built = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)], capture_output=True, text=True, timeout=600
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    (sdist,) = dist.glob("emotag-*.tar.gz")
    (wheel,) = dist.glob("emotag-*.whl")
    model = [CARD["runtime"], "expression-model.json", "README.md"]

    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {f"models/{name}" for name in model} <= names, sorted(names)
    assert not [name for name in names if name.endswith(".keras")], "the sdist carries TensorFlow's weights"

    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (metadata,) = [name for name in names if name.endswith(".dist-info/METADATA")]
        requirements = runtime_requirements(archive.read(metadata).decode())
    assert {f"emotag/model/{name}" for name in model} <= names, sorted(names)
    assert {"emotag/face_template.json", "emotag/emotag.config"} <= names
    assert not [name for name in names if name.endswith(".keras")]
    assert requirements and not [r for r in requirements if TRAINING_ONLY.match(r)], requirements
    bundled = json.loads(zipfile.ZipFile(wheel).read("emotag/model/expression-model.json"))
    assert bundled == CARD, "the wheel's model card is not the one in models/"

    # Installed on its own (its dependencies come from this environment), run from a folder far from the checkout.
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)], check=True
    )
    photos = tmp_path / "elsewhere"
    shutil.copytree(SAMPLES, photos, ignore=shutil.ignore_patterns("*.md"))
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "EMOTAG_MODEL_DIR")}
    env["PYTHONPATH"] = str(site)

    def installed(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, *args], cwd=photos, env=env, capture_output=True, text=True, timeout=300)

    where = installed("-c", "import emotag.expressions as e; print(e.__file__); print(e.model_folder())")
    package_file, folder = where.stdout.split()
    assert Path(package_file).is_relative_to(site) and Path(folder) == site / "emotag" / "model", where.stdout
    assert installed("-m", "emotag.cli", "--version").stdout.strip().endswith(f"expression model {bundled['version']}")
    tagged = installed("-m", "emotag.cli", "tag", "--json", "--jobs", "1", ".")
    assert tagged.returncode == 0, tagged.stderr
    by_name = {Path(r["path"]).name: r for r in json_lines(tagged.stdout)}
    assert by_name[HAPPY_PHOTO]["tags"] == ["Happy"] and by_name[NEUTRAL_PHOTO]["status"] == "tagged", by_name


def test_the_readme_the_installer_and_the_systemd_unit_agree_on_where_emotag_lands():
    unit = (ROOT / "integrations" / "systemd" / "emotag-watch.service").read_text()
    installer = (ROOT / "install.sh").read_text()
    readme = (ROOT / "README.md").read_text()
    assert re.search(r"^ExecStart=%h/\.local/bin/emotag ", unit, re.MULTILINE)
    assert "BIN=${EMOTAG_BIN:-$HOME/.local/bin}" in installer
    assert "~/.local/bin/emotag" in readme and "~/.local/lib/emotag" in readme
    first_block = readme.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    assert [line.split()[0] for line in first_block] == ["./install.sh", "./test.sh"], first_block


def pip_refused(python: Path) -> bool:
    """Whether `python -m pip install` is refused there as an externally managed environment (PEP 668)."""
    tried = subprocess.run(
        [str(python), "-m", "pip", "install", "--dry-run", "--no-index", "emotag"], capture_output=True, text=True
    )
    return "externally-managed-environment" in tried.stderr


@pytest.mark.slow
@pytest.mark.skipif(
    not DEBIAN_PYTHON.exists() or not list(Path("/usr/lib").glob("python3*/EXTERNALLY-MANAGED")),
    reason="needs a stock Debian or Ubuntu Python (/usr/bin/python3, externally managed)",
)
def test_install_sh_on_a_stock_debian_python_installs_the_command_and_tags_the_samples(tmp_path):
    """The README's first command, as a new user on Debian runs it: its own venv, `emotag` on ~/.local/bin."""
    assert pip_refused(DEBIAN_PYTHON), "this Python lets pip install into it: not the case under test"
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "HOME": str(home),
        "PATH": "/usr/bin:/bin",  # no pyenv, no project venv
        "PYTHON": str(DEBIAN_PYTHON),
        "TMPDIR": str(tmp_path),
        "LANG": "C.UTF-8",
        # pip's downloads are kept where this machine keeps them, so the test does not fetch them again
        "PIP_CACHE_DIR": os.environ.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip")),
    }
    for key in ("PIP_CONFIG_FILE", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS"):
        if key in os.environ:
            env[key] = os.environ[key]
    done = subprocess.run(["./install.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    command = home / ".local" / "bin" / "emotag"
    assert command.is_symlink() and command.resolve().is_relative_to(home / ".local" / "lib" / "emotag")
    assert "tags: Happy" in done.stdout and "tags: Neutral" in done.stdout, done.stdout
    assert "Emotion|Happy" in done.stdout
    version = subprocess.run([str(command), "--version"], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert version.stdout.strip().endswith(f"expression model {CARD['version']}")
    venv_python = home / ".local" / "lib" / "emotag" / "bin" / "python"
    no_tensorflow = subprocess.run([str(venv_python), "-c", "import tensorflow"], capture_output=True, text=True)
    assert no_tensorflow.returncode != 0, "install.sh installed TensorFlow, which tagging does not need"
