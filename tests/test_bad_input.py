"""Issue 6, bad input: every broken, odd or hostile file through `emotag tag`, `top`, `show` and the watcher.

The corpus (`tests/corpus.py`) is made here, from nothing. A bad file must get one line naming it and the cause
and keep its bytes; the run goes on, tags every good photo, shows no traceback and exits 1.
"""

from __future__ import annotations

import os
import resource
import shutil
import struct
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from tests.corpus import HAPPY, NO_FACE, Case, build_corpus, happy
from tests.helpers import (
    STORED_AS,
    as_list,
    digest,
    exiftool_tags,
    json_lines,
    run_emotag,
    without_file_permission_override,
)

GOOD = {"good-happy.jpg": HAPPY, "good-rocket.jpg": NO_FACE}


def shown(path: Path) -> str:
    """A path as emotag names it in a one-line message."""
    text = str(path)
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def picture(path: Path) -> list[np.ndarray]:
    """Every frame's pixels, in the file's own mode (16-bit stays 16-bit)."""
    frames = []
    with Image.open(path) as image:
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            frames.append(np.asarray(image).copy())
    return frames


def same_picture(path: Path, before: list[np.ndarray]) -> bool:
    after = picture(path)
    return len(after) == len(before) and all(np.array_equal(a, b) for a, b in zip(after, before))


def error_lines(stderr: str, path: Path) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(f"emotag: {shown(path)}: ")]


def snapshot(folder: Path) -> dict[Path, str]:
    """Every plain file's digest (pipes skipped: reading one would wait forever)."""
    return {p: digest(p) for p in folder.rglob("*") if p.is_file() and not p.is_fifo()}


@pytest.fixture
def corpus(tmp_path) -> tuple[Path, dict[str, Case]]:
    folder = tmp_path / "corpus"
    cases = build_corpus(folder)
    for name, source in GOOD.items():
        shutil.copy(source, folder / name)
        cases[name] = Case(name, error=False, face=source == HAPPY)
    return folder, cases


def assert_bad_files_named_and_kept(result, folder: Path, cases: dict[str, Case], before: dict, reading=False):
    """One line per bad file, its bytes (and its sidecar's) unchanged, no traceback, exit 1.

    `reading`: the command only reads (`top`), so files that are bad only to write are no error to it."""
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr, result.stderr
    bad = [folder / name for name, case in cases.items() if case.error and not (reading and case.readable)]
    for path in bad:
        assert len(error_lines(result.stderr, path)) == 1, f"{path.name}: {result.stderr}"
    assert len([line for line in result.stderr.splitlines() if line.startswith("emotag: ")]) == len(bad)
    for path, value in before.items():
        if path.name not in cases or cases[path.name].error:
            assert digest(path) == value, f"{path.name} was changed"
    assert not [p for p in folder.rglob("*") if "_exiftool_tmp" in p.name or "emotag-tmp" in p.name]


@pytest.mark.slow
def test_top_then_tag_over_the_bad_corpus_mixed_with_good_photos(corpus):
    folder, cases = corpus
    before = snapshot(folder)
    pictures = {name: picture(folder / name) for name, case in cases.items() if not case.error}
    extra = [str(folder / "animated.gif"), str(folder / "x.jpg")]  # named: the folder is walked (it is empty)

    ranked = run_emotag("top", "happy", str(folder), *extra, "-n", "100", "--json")
    assert_bad_files_named_and_kept(ranked, folder, cases, before, reading=True)
    assert snapshot(folder) == before, "top wrote to a photo"
    scores = {Path(r["path"]).name: r["score"] for r in json_lines(ranked.stdout)}
    assert {name for name, case in cases.items() if case.face and (case.readable or not case.error)} == set(scores)
    assert min(scores.values()) > 0.9, scores

    tagged = run_emotag("tag", str(folder), *extra, "--json", "--jobs", "1")
    assert_bad_files_named_and_kept(tagged, folder, cases, before)
    results = {Path(r["path"]).name: r for r in json_lines(tagged.stdout)}
    assert {name for name, r in results.items() if r["status"] == "error"} == {n for n, c in cases.items() if c.error}
    for name, case in cases.items():
        if case.error:
            continue
        assert same_picture(folder / name, pictures[name]), f"{name}: pixels changed"
        subject = as_list(exiftool_tags(folder / name, "XMP-dc:Subject").get("XMP-dc:Subject"))
        assert (results[name]["status"], subject) == (("tagged", ["Happy"]) if case.face else ("no_faces", []))
    assert not (folder / "pwned").exists() and not Path("pwned").exists()

    again = run_emotag("tag", str(folder), *extra, "--json", "--jobs", "1")
    assert_bad_files_named_and_kept(again, folder, cases, before)
    statuses = {r["status"] for r in json_lines(again.stdout)}
    assert statuses == {"unchanged", "error"}, statuses


@pytest.mark.slow
def test_show_names_each_bad_file_in_one_line(corpus):
    folder, cases = corpus
    before = snapshot(folder)
    bad = [folder / name for name, case in cases.items() if case.error and not case.readable] + [folder / "x.jpg"]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda path: run_emotag("show", str(path)), bad))
    for path, result in zip(bad, results):
        assert result.returncode == 1, f"{path.name}: {result.stdout} {result.stderr}"
        assert result.stdout == "" and "Traceback" not in result.stderr, result.stderr
        assert len(result.stderr.splitlines()) == 1 and error_lines(result.stderr, path), result.stderr
    assert "is a folder" in results[-1].stderr
    readable = next(folder / name for name, case in cases.items() if case.readable)
    result = run_emotag("show", "--json", str(readable), check=True)
    assert json_lines(result.stdout)[0]["faces"][0]["emotion"] == "happy"
    assert snapshot(folder) == before


@pytest.mark.slow
def test_the_watcher_names_each_bad_file_and_goes_on(tmp_path, watchers, watch_env):
    folder = tmp_path / "watched"
    folder.mkdir()
    staging = tmp_path / "staging"
    cases = build_corpus(staging)
    watcher = watchers(folder, watch_env)
    for entry in sorted(staging.iterdir(), key=lambda p: p.suffix.lower() != ".xmp"):  # sidecars first
        entry.rename(folder / entry.name)
    photos = [folder / name for name in cases if (folder / name).suffix.lower() not in (".gif",)]
    photos = [p for p in photos if not p.is_fifo()] + [folder / "IMG_FOLDER.NEF.xmp" / "inside.jpg"]
    watcher.wait_for_photos(photos, timeout=180)
    for photo in photos:
        statuses = [r["status"] for r in watcher.results_for(photo)]
        case = cases.get(photo.name)
        expected = "error" if case and case.error else "tagged" if case and case.face else "no_faces"
        assert statuses == [expected], f"{photo.name}: {statuses}"
    logged_errors = [line for line in watcher.log if "emotag: error " in line]
    assert len(logged_errors) == len([c for c in cases.values() if c.error]) - 2  # the pipe and the GIF are no photos
    assert watcher.process.poll() is None
    after = Path(shutil.copy(HAPPY, folder / "after.jpg"))
    watcher.wait_for_photos([after])
    assert [r["status"] for r in watcher.results_for(after)] == ["tagged"]
    assert watcher.stop() == 0


@pytest.mark.slow
def test_every_exif_orientation_puts_the_box_on_the_face(tmp_path):
    upright = Image.new("RGB", (640, 400), (120, 120, 120))
    upright.paste(happy(300), (300, 60))  # off centre, so a wrong turn moves the box
    for orientation in range(1, 9):
        stored = upright.transpose(STORED_AS[orientation]) if orientation > 1 else upright
        exif = Image.Exif()
        exif[0x0112] = orientation
        stored.save(tmp_path / f"o{orientation}.jpg", quality=90, exif=exif)
        with Image.open(tmp_path / f"o{orientation}.jpg") as check:
            assert ImageOps.exif_transpose(check).size == upright.size
    result = run_emotag("tag", str(tmp_path), "--json", "--jobs", "1", check=True)
    boxes = {Path(r["path"]).stem: r["faces"] for r in json_lines(result.stdout)}
    (reference,) = boxes["o1"]
    left, top, width, _ = reference["box"]
    assert left >= 300 and left + width <= 600 and 60 <= top <= 360, reference  # inside the pasted face photo
    for orientation in range(2, 9):
        (face,) = boxes[f"o{orientation}"]
        assert np.allclose(face["box"], reference["box"], atol=6), (orientation, face["box"], reference["box"])
        assert face["emotion"] == "happy"
    shown_faces = json_lines(run_emotag("show", "--json", str(tmp_path / "o6.jpg"), check=True).stdout)[0]["faces"]
    assert np.allclose(shown_faces[0]["box"], reference["box"], atol=6)


def _memory_bound(gigabytes: float):
    def limit() -> None:
        size = int(gigabytes * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (size, size))

    return limit


@pytest.mark.slow
def test_a_decompression_bomb_is_refused_within_a_memory_bound(corpus):
    folder, _ = corpus
    bomb = folder / "bomb.png"
    assert bomb.stat().st_size < 20_000
    assert bomb.read_bytes()[16:24] == struct.pack(">II", 60_000, 60_000)  # the header's claim
    before = digest(bomb)
    for command in (["tag", "--jobs", "1"], ["top", "happy"], ["show"]):
        result = subprocess.run(
            [sys.executable, "-m", "emotag.cli", *command, str(bomb)],
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=_memory_bound(2.0),  # the image would take 3.6 GB
        )
        assert result.returncode == 1, (command, result.stderr)
        assert error_lines(result.stderr, bomb) and "too large" in result.stderr, (command, result.stderr)
        assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    assert digest(bomb) == before


def iptc(path: Path) -> dict:
    """IPTC as ExifTool reads it when no character set is declared (Latin-1)."""
    return exiftool_tags(path, "IPTC:all", options=("-charset", "iptc=latin1"))


@pytest.mark.slow
@pytest.mark.parametrize("declared", [None, "\x1b.A"], ids=["undeclared", "declared-latin1"])
def test_latin1_iptc_keeps_every_field_readable(tmp_path, declared):
    photo = tmp_path / "latin1.jpg"
    happy().save(photo, quality=90)
    charset = [f"-IPTC:CodedCharacterSet#={declared}"] if declared else []
    subprocess.run(
        ["exiftool", "-q", "-overwrite_original", "-charset", "iptc=latin1", *charset, "-IPTC:Keywords=Café",
         "-IPTC:Keywords=Zürich", "-IPTC:Caption-Abstract=Grüße aus Köln", "-IPTC:City=München", "--", str(photo)],
        check=True,
    )  # fmt: skip
    before = iptc(photo)
    assert before.get("IPTC:CodedCharacterSet") == (declared and "ESC . A") and before["IPTC:City"] == "München"
    assert b"M\xfcnchen" in photo.read_bytes(), "the test photo must hold Latin-1 bytes"

    run_emotag("tag", str(photo), "--jobs", "1", check=True)
    after = iptc(photo)
    assert after["IPTC:Keywords"] == ["Café", "Zürich", "Happy"]
    assert {k: v for k, v in after.items() if k != "IPTC:Keywords"} == {
        k: v for k, v in before.items() if k != "IPTC:Keywords"
    }, "emotag changed or garbled the user's other IPTC fields"

    run_emotag("untag", str(photo), check=True)
    assert iptc(photo) == before


@pytest.mark.slow
def test_a_photo_it_may_not_read_and_a_folder_it_may_not_enter(tmp_path):
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) is needed to drop root's right to ignore file permissions")
    folder = tmp_path / "album"
    (folder / "locked").mkdir(parents=True)
    Image.new("RGB", (64, 64)).save(folder / "locked" / "inside.jpg")
    Image.new("RGB", (64, 64)).save(folder / "secret.jpg")
    Image.new("RGB", (64, 64)).save(folder / "open.jpg")
    before = snapshot(folder)
    (folder / "secret.jpg").chmod(0)
    (folder / "locked").chmod(0)
    try:
        results = []
        for command in (["tag", "--json", "--jobs", "1"], ["top", "happy"]):
            argv = [sys.executable, "-m", "emotag.cli", *command, str(folder)]
            results.append(subprocess.run(without_file_permission_override(*argv), capture_output=True, text=True))
        argv = [sys.executable, "-m", "emotag.cli", "show", str(folder / "secret.jpg")]
        shown_result = subprocess.run(without_file_permission_override(*argv), capture_output=True, text=True)
    finally:
        (folder / "secret.jpg").chmod(0o644)
        (folder / "locked").chmod(0o755)
    for result in results:
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert len(error_lines(result.stderr, folder / "secret.jpg")) == 1, result.stderr
        assert "permission denied" in error_lines(result.stderr, folder / "secret.jpg")[0]
        assert len(error_lines(result.stderr, folder / "locked")) == 1, result.stderr
    statuses = {Path(r["path"]).name: r["status"] for r in json_lines(results[0].stdout)}
    assert statuses == {"open.jpg": "no_faces", "secret.jpg": "error", "locked": "error"}
    assert shown_result.returncode == 1 and "permission denied" in shown_result.stderr
    assert snapshot(folder) == before


@pytest.mark.slow
def test_symlink_loops_and_links_out_of_the_tree_are_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    happy(300).save(outside / "elsewhere.jpg")
    folder = tmp_path / "album"
    folder.mkdir()
    Image.new("RGB", (64, 64)).save(folder / "mine.jpg")
    (folder / "loop.jpg").symlink_to("loop.jpg")
    (folder / "a.jpg").symlink_to("b.jpg")
    (folder / "b.jpg").symlink_to("a.jpg")
    (folder / "dangling.jpg").symlink_to("nowhere.jpg")
    (folder / "up").symlink_to("..")
    (folder / "out").symlink_to(outside)
    (folder / "out.jpg").symlink_to(outside / "elsewhere.jpg")
    before = snapshot(outside)

    walked = run_emotag("tag", "--json", "--jobs", "1", str(folder))
    assert walked.returncode == 0, walked.stderr
    assert [Path(r["path"]).name for r in json_lines(walked.stdout)] == ["mine.jpg"]
    assert snapshot(outside) == before

    links = [str(folder / name) for name in ("loop.jpg", "a.jpg", "dangling.jpg")]
    named = run_emotag("tag", "--json", "--jobs", "1", *links)
    assert named.returncode == 1 and "Traceback" not in named.stderr
    assert "symbolic link loop" in error_lines(named.stderr, folder / "loop.jpg")[0]
    assert "symbolic link loop" in error_lines(named.stderr, folder / "a.jpg")[0]
    assert "does not exist" in error_lines(named.stderr, folder / "dangling.jpg")[0]
    shown_loop = run_emotag("show", str(folder / "loop.jpg"))
    assert shown_loop.returncode == 1 and "symbolic link loop" in shown_loop.stderr

    run_emotag("tag", "--jobs", "1", str(folder / "out.jpg"), check=True)  # named: followed, and written through
    assert (folder / "out.jpg").is_symlink(), "ExifTool replaced the link with a copy"
    assert as_list(exiftool_tags(outside / "elsewhere.jpg", "XMP-dc:Subject").get("XMP-dc:Subject")) == ["Happy"]


@pytest.mark.slow
def test_a_file_that_vanishes_between_listing_and_reading(tmp_path):
    from emotag.discovery import find_photos
    from emotag.ledger import Ledger
    from emotag.pipeline import Settings, Tagger

    for name in ("first.jpg", "gone.jpg", "last.jpg"):
        Image.new("RGB", (64, 64), (50, 60, 70)).save(tmp_path / name)
    listed = list(find_photos([tmp_path]))
    (tmp_path / "gone.jpg").unlink()
    tagger = Tagger(Settings(), Ledger(tmp_path / "ledger.sqlite"))
    try:
        results = {Path(r.path).name: r for r in tagger.tag_batch(listed)}
    finally:
        tagger.close()
    assert results["gone.jpg"].status == "error" and "vanished" in results["gone.jpg"].error
    assert results["first.jpg"].status == results["last.jpg"].status == "no_faces"


@pytest.mark.slow
def test_the_same_photo_named_twice_is_done_once(tmp_path):
    photo = tmp_path / "once.jpg"
    Image.new("RGB", (64, 64)).save(photo)
    (tmp_path / "link.jpg").symlink_to(photo)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        names = [str(photo), str(photo), "once.jpg", "./once.jpg", "link.jpg"]
        result = run_emotag("tag", "--json", "--jobs", "1", *names)
    finally:
        os.chdir(cwd)
    assert result.returncode == 0, result.stderr
    assert len(json_lines(result.stdout)) == 1


@pytest.mark.slow
def test_a_file_name_that_is_not_utf8_is_tagged_remembered_and_untagged(tmp_path):
    """Old archives (FAT, Windows code pages) hold names like caf\\xe9.jpg: bytes that are not UTF-8."""
    folder = tmp_path / "archive"
    folder.mkdir()
    photo = Path(os.fsdecode(os.fsencode(folder) + b"/caf\xe9.jpg"))
    shutil.copy(HAPPY, photo)

    first = run_emotag("tag", "--json", "--jobs", "1", str(folder), check=True)
    assert first.stdout.isascii() and "Traceback" not in first.stderr
    result = json_lines(first.stdout)[0]
    assert result["status"] == "tagged" and os.fsencode(result["path"]) == os.fsencode(photo)
    assert exiftool_tags(photo, "XMP-dc:Subject")["XMP-dc:Subject"] in ("Happy", ["Happy"])
    again = run_emotag("tag", "--json", "--jobs", "1", str(folder), check=True)
    assert json_lines(again.stdout)[0]["status"] == "unchanged", "the ledger must remember the photo"
    untag = subprocess.run([sys.executable, "-m", "emotag.cli", "untag", str(folder)], capture_output=True)
    assert untag.returncode == 0 and b"caf\xe9.jpg" in untag.stdout  # a terminal shows the name as stored
    assert not exiftool_tags(photo, "XMP-dc:Subject")


def sixteen_bit_png(path: Path, side: int) -> None:
    """A black 16-bit grey PNG of side x side pixels (under the pixel limit), a few hundred kilobytes on disk."""
    packer = zlib.compressobj(9)
    row = bytes(1 + 2 * side)  # filter byte, then two bytes a pixel
    pixels = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 16, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b""))


@pytest.mark.slow
def test_a_huge_16_bit_scan_is_read_within_a_memory_bound_beside_good_photos(tmp_path):
    """250 megapixels of 16-bit grey are 500 MB decoded; converting them at full size took 3.5 GB, and running
    out of memory failed every photo read with it."""
    scan = tmp_path / "scan.png"
    sixteen_bit_png(scan, 15_800)
    shutil.copy(HAPPY, tmp_path / "happy.jpg")
    result = subprocess.run(
        [sys.executable, "-m", "emotag.cli", "tag", "--json", "--jobs", "1", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_memory_bound(2.5),
    )
    statuses = {Path(r["path"]).name: r["status"] for r in json_lines(result.stdout)}
    assert statuses == {"scan.png": "no_faces", "happy.jpg": "tagged"}, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_data_folder_it_may_not_write_is_one_clear_line(tmp_path):
    if not shutil.which("setpriv"):
        pytest.skip("setpriv (util-linux) is needed to drop root's right to ignore file permissions")
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o555)
    (tmp_path / "inbox").mkdir()
    for command in (["tag", str(HAPPY)], ["untag", str(HAPPY)], ["watch", str(tmp_path / "inbox")]):
        result = subprocess.run(
            without_file_permission_override(sys.executable, "-m", "emotag.cli", *command),
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "EMOTAG_DATA_DIR": str(data)},
        )
        assert result.returncode == 1 and "Traceback" not in result.stderr, (command, result.stderr)
        assert f"cannot keep the record of tagged photos in {data}" in result.stderr.strip().splitlines()[-1]
