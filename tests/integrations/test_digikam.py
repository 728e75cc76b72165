"""digiKam reads metadata through exiv2: emotag's fields, read back with Debian's exiv2, and the Batch Queue
Manager script of integrations/digikam/README.md, run the way digiKam runs it."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import HAPPY_PHOTO, NO_FACE_PHOTOS, json_lines, run_emotag
from tests.integrations.conftest import INTEGRATIONS, emotag_folder
from tests.integrations.digikam_headless import read_collection

pytestmark = pytest.mark.slow  # real darktable, digiKam and Lightroom stand-ins, and `emotag` processes

README = INTEGRATIONS / "digikam" / "README.md"
TAGS_LIST = "Xmp.digiKam.TagsList"
IPTC_KEYWORDS = "Iptc.Application2.Keywords"


@pytest.fixture
def exiv2() -> str:
    found = shutil.which("exiv2")
    if not found:
        pytest.skip("exiv2 is not installed (apt-get install exiv2)")
    return found


@pytest.fixture
def digikam():
    for program, package in (("digikam", "digikam"), ("xvfb-run", "xvfb xauth")):
        if not shutil.which(program):
            pytest.skip(f"{program} is not installed (apt-get install {package})")


def read_with_exiv2(exiv2: str, photo: Path) -> dict[str, list[str]]:
    """Keyword fields as digiKam's metadata library reads them: XMP bags come as one 'a, b' value."""
    output = subprocess.run(
        [exiv2, "-q", "-K", TAGS_LIST, "-K", IPTC_KEYWORDS, "-Pkv", str(photo)], capture_output=True, check=False
    ).stdout.decode("utf-8")
    fields: dict[str, list[str]] = {}
    for line in output.splitlines():
        key, _, value = line.partition(" ")
        values = value.strip().split(", ") if key.startswith("Xmp.") else [value.strip()]
        fields.setdefault(key, []).extend(values)
    return fields


def batch_queue_script() -> str:
    """The Custom Script the README tells the user to paste."""
    found = re.search(r"<!-- bqm-script -->\s*```sh\n(.*?)```\s*<!-- /bqm-script -->", README.read_text(), re.S)
    assert found, "the README has no marked Batch Queue script"
    return found.group(1)


def test_digikam_reads_emotags_keywords_with_a_non_ascii_label(album, exiv2, private_state):
    (private_state / "config.toml").write_text('[tags.labels]\nhappy = "Glücklich"\n', encoding="utf-8")
    run_emotag("tag", str(album), check=True)

    fields = read_with_exiv2(exiv2, album / HAPPY_PHOTO)
    assert fields[TAGS_LIST][:1] == ["Emotion"] and "Emotion/Glücklich" in fields[TAGS_LIST]
    assert "Glücklich" in fields[IPTC_KEYWORDS]
    for name in NO_FACE_PHOTOS:
        assert read_with_exiv2(exiv2, album / name) == {}, name


def test_batch_queue_script_from_the_readme_tags_the_copy_digikam_saves(album, exiv2, tmp_path):
    original = album / HAPPY_PHOTO
    before = hashlib.sha256(original.read_bytes()).hexdigest()
    work = tmp_path / "digikam-work"
    work.mkdir()
    copy = work / "BatchTool-8c2f0e.digikamtempfile.jpg"
    script = batch_queue_script().replace("$INPUT", f'"{original}"').replace("$OUTPUT", f'"{copy}"')

    path = os.pathsep.join(filter(None, [str(emotag_folder() or ""), os.environ["PATH"]]))
    done = subprocess.run(["/bin/sh", "-c", script], env={**os.environ, "PATH": path}, capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
    assert "Emotion/Happy" in read_with_exiv2(exiv2, copy)[TAGS_LIST]
    assert hashlib.sha256(original.read_bytes()).hexdigest() == before, "the original must stay as it was"


def test_digikam_itself_takes_the_tags_into_its_database(album, digikam, tmp_path):
    """The real digiKam scans a collection of photos emotag tagged: its Tags tables hold Emotion/<label>."""
    results = json_lines(run_emotag("tag", "--json", str(album), check=True).stdout)

    tags = read_collection(album, tmp_path / "digikam")

    assert set(tags) == {Path(result["path"]).name for result in results}
    for result in results:
        name = Path(result["path"]).name
        found = {tag for tag in tags[name] if tag.split("/")[0] == "Emotion"}
        expected = {"Emotion", *(f"Emotion/{label}" for label in result["tags"])} if result["tags"] else set()
        assert found == expected, name
    assert "Emotion/Happy" in tags[HAPPY_PHOTO]


def test_digikam_reads_the_closed_eyes_keyword_as_a_tag_of_its_own(album, exiv2):
    from tests.helpers import CLOSED, copy_shared

    (closed,) = copy_shared(CLOSED[:1], album)
    run_emotag("tag", str(album), check=True)

    fields = read_with_exiv2(exiv2, closed)
    assert "Eyes closed" in fields[TAGS_LIST] and "Emotion/Eyes closed" not in fields[TAGS_LIST]
    assert "Eyes closed" in fields[IPTC_KEYWORDS]
    assert not any("Eyes" in tag for tag in read_with_exiv2(exiv2, album / HAPPY_PHOTO).get(TAGS_LIST, []))
