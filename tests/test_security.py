"""Issue 6, security: no shell, file names never ExifTool options, no XML parsed by emotag itself (ExifTool's own
reader does not expand entities), a model format that cannot carry code, and no network."""

from __future__ import annotations

import ast
import json
import os
import re
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.corpus import XMP_BOMB, happy
from tests.helpers import ROOT, fake_raw, json_lines, run_emotag

PACKAGE = ROOT / "emotag"


def calls_and_imports(path: Path) -> tuple[set[str], set[str], list[ast.Call]]:
    """Dotted names called, modules imported, and every call node of one source file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    called, imported, calls = set(), set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            calls.append(node)
            called.add(ast.unparse(node.func))
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    return called, imported, calls


SOURCES = sorted(PACKAGE.glob("*.py"))


@pytest.mark.parametrize("source", SOURCES, ids=[p.name for p in SOURCES])
def test_no_shell_no_code_loading_no_xml_parser_in_emotag(source):
    called, imported, calls = calls_and_imports(source)
    assert not called & {"os.system", "os.popen", "eval", "exec", "pickle.load", "pickle.loads", "marshal.loads"}
    assert not {m for m in imported if m.split(".")[0] in ("pickle", "marshal", "shelve", "dill", "joblib")}
    for call in calls:
        for keyword in call.keywords:
            if keyword.arg == "shell":
                assert isinstance(keyword.value, ast.Constant) and keyword.value.value is False, ast.unparse(call)
            unsafe = {"allow_pickle": True, "safe_mode": False}  # numpy's and Keras's doors to code in data
            if keyword.arg in unsafe and isinstance(keyword.value, ast.Constant):
                assert keyword.value.value is not unsafe[keyword.arg], ast.unparse(call)
    xml = {m for m in imported if m.split(".")[0] in ("xml", "lxml", "xmltodict", "html5lib")}
    assert not xml, f"{source.name} parses XML itself: use defusedxml (and add it to pyproject)"
    network = {m for m in imported if m.split(".")[0] in ("urllib", "http", "requests", "httpx", "ftplib")}
    assert not network - {"urllib.parse"}  # quoting a file name for a link is string work, not a connection


def test_pyexiftool_starts_exiftool_without_a_shell():
    import exiftool.exiftool

    source = Path(exiftool.exiftool.__file__).read_text()
    assert "shell=True" not in source
    assert re.search(r"subprocess\.Popen\(\s*proc_args", source), "pyexiftool starts ExifTool from an argument list"


def test_file_names_reach_exiftool_as_absolute_paths_never_as_options(tmp_path, monkeypatch):
    from emotag.exiftool import MetadataError, safe_argument
    from emotag.record import Metadata

    monkeypatch.chdir(tmp_path)
    names = ["-j", "-o out.jpg", "-execute", "-stay_open", "-@", "-if 0", "-delete_original!"]
    for name in names:
        happy(64).save(tmp_path / f"{name}.jpg")
        argument = safe_argument(Path(f"{name}.jpg"))
        assert argument.startswith(b"/") and argument == os.fsencode(tmp_path / f"{name}.jpg")
    with Metadata() as metadata:
        for name in names:
            metadata.write(Path(f"{name}.jpg"), metadata.read(Path(f"{name}.jpg")), {}, _own())
            assert metadata.read(Path(f"{name}.jpg")).model_version == "test"
        with pytest.raises(MetadataError, match="line break"):
            metadata.read(Path("line\n-execute\n.jpg"))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{name}.jpg" for name in names)


def _own() -> dict:
    return {"model_version": "test", "thresholds": "angry=0.5", "emotions": [], "faces": []}


@pytest.mark.slow
def test_an_xmp_bomb_in_a_sidecar_is_not_expanded(tmp_path):
    photo = tmp_path / "IMG_1.NEF"
    fake_raw(photo)
    sidecar = tmp_path / "IMG_1.NEF.xmp"
    sidecar.write_text(XMP_BOMB, encoding="utf-8")
    assert "&lol9;" in XMP_BOMB and XMP_BOMB.count("&lol") > 80  # 10^9 "lol"s if an entity reader expanded it
    before = sidecar.read_bytes()

    def one_gigabyte() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))

    read = subprocess.run(  # untag reads the sidecar through ExifTool, and needs no model: 1 GB is plenty
        [sys.executable, "-m", "emotag.cli", "untag", "--dry-run", str(photo)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=one_gigabyte,
    )
    assert read.returncode == 0 and len(read.stderr.splitlines()) == 1 and "0 errors" in read.stderr, read.stderr
    tagged = run_emotag("tag", "--jobs", "1", "--json", str(photo))
    assert tagged.returncode == 1 and json_lines(tagged.stdout)[0]["status"] == "error"
    assert "sidecar IMG_1.NEF.xmp" in tagged.stderr
    assert sidecar.read_bytes() == before


def test_the_shipped_model_is_a_format_that_cannot_carry_code():
    """emotag runs a LiteRT flat buffer (tensors and operators only) and never loads a Keras file itself."""
    from emotag.expressions import MODEL_CARD_FILE, model_folder

    card = json.loads((model_folder() / MODEL_CARD_FILE).read_text())
    runtime = model_folder() / card["runtime"]
    assert runtime.suffix == ".tflite" and runtime.read_bytes()[4:8] == b"TFL3"
    for module in PACKAGE.glob("*.py"):
        source = module.read_text()
        assert "load_model" not in source and "import keras" not in source, f"{module.name} loads Keras"


def network_calls(trace: str) -> list[str]:
    """Lines of an strace log that reach for the network. A bind to the loopback address is not: urllib3 (which Keras
    imports through requests) probes IPv6 support so at import (`HAS_IPV6`), and never connects."""
    found = []
    for line in trace.splitlines():
        if re.search(r"\b(connect|bind|sendto|sendmsg)\(.*sa_family=AF_INET6?\b", line):
            loopback = line.split("(", 1)[0].endswith("bind") and ('"::1"' in line or '"127.0.0.1"' in line)
            if not loopback:
                found.append(line)
    return found


def outcome(stdout: str) -> list[dict]:
    return [{k: r[k] for k in ("path", "status", "faces", "tags")} for r in json_lines(stdout)]


@pytest.mark.slow
def test_the_pipeline_makes_no_network_connection_and_works_without_a_network(tmp_path):
    if not shutil.which("unshare") or subprocess.run(["unshare", "-n", "true"]).returncode != 0:
        pytest.skip("unshare -n (a network namespace) is not allowed here")
    online = tmp_path / "online"
    offline = tmp_path / "offline"
    for folder in (online, offline):
        folder.mkdir()
        happy(400).save(folder / "photo.jpg", quality=90)
    expected = run_emotag("tag", "--json", "--jobs", "1", str(online / "photo.jpg"), check=True)

    trace = tmp_path / "trace.txt"
    calls = "trace=execve,connect,bind,sendto,sendmsg"
    tracer = ["strace", "-f", "-qq", "-e", calls, "-o", str(trace)] if shutil.which("strace") else []
    command = ["unshare", "-n", *tracer, sys.executable, "-m", "emotag.cli", "tag", "--json", "--jobs", "1"]
    result = subprocess.run([*command, str(offline / "photo.jpg")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert outcome(result.stdout) == [
        {**item, "path": item["path"].replace("online", "offline")} for item in outcome(expected.stdout)
    ]
    if tracer:
        calls = trace.read_text()
        assert "exiftool" in calls, "strace saw nothing: the check below would prove nothing"
        assert not network_calls(calls), calls
