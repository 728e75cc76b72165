"""Bursts: shots seconds apart that look alike, and `emotag top --per-burst` keeping the best of each.

The bursts are real: several shots of one scene (a sample photo, moved or blurred a little, with a real face from
../shared/data/eyes set into it, its eyes open in some shots and closed in one), their times written into EXIF by
ExifTool. The tests that need ../shared/data skip where it is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from emotag.bursts import Shot, best_of, difference, face_sharpness, group_bursts, look, taken_at
from tests.helpers import EYES, HAPPY_PHOTO, NEUTRAL_PHOTO, SAMPLES, json_lines, run_emotag

SCENE = "cat-chelsea.jpg"
BLINK = "closed_42d5d2c3fd.jpg"  # smiling, eyes closed
SMILE = "open_0b62b7bc59.jpg"  # smiling less, eyes open


def set_taken(photo: Path, when: str, subsec: str | None) -> None:
    arguments = [f"-DateTimeOriginal={when}"] + ([f"-SubSecTimeOriginal={subsec}"] if subsec else [])
    subprocess.run(["exiftool", "-q", "-overwrite_original", *arguments, "--", str(photo)], check=True)


def moved(image: Image.Image, dx: int, dy: int) -> Image.Image:
    """The same scene, the camera moved a few pixels (the edge filled by stretching the crop back)."""
    width, height = image.size
    return image.crop((max(0, dx), max(0, dy), width + min(0, dx), height + min(0, dy))).resize((width, height))


def face_from_shared(name: str) -> Image.Image:
    """The face of one ../shared/data/eyes photo, without its plain frame."""
    with Image.open(EYES / name) as image:
        rgb = image.convert("RGB")
    values = np.asarray(rgb).astype(int)
    ys, xs = np.nonzero(np.abs(values - values[2, 2]).max(axis=2) > 12)
    return rgb.crop((xs.min(), ys.min(), xs.max() + 1, ys.max() + 1))


def scene_with_face(face: str) -> Image.Image:
    with Image.open(SAMPLES / SCENE) as image:
        scene = image.convert("RGB")
    scene.paste(face_from_shared(face).resize((130, 130)), (20, 20))
    return scene


def test_taken_at_reads_exif_with_its_fraction_else_the_file_time(tmp_path):
    photo = tmp_path / "a.jpg"
    shutil.copy(SAMPLES / HAPPY_PHOTO, photo)
    os.utime(photo, (1_000_000_000, 1_000_000_000))
    assert taken_at(photo) == 1_000_000_000  # no date in its EXIF: the file's time
    set_taken(photo, "2024:06:01 12:00:00", "25")
    later = tmp_path / "b.jpg"
    shutil.copy(photo, later)
    set_taken(later, "2024:06:01 12:00:01", "5")
    assert taken_at(later) - taken_at(photo) == pytest.approx(1.25)


def test_a_burst_is_close_in_time_and_alike(tmp_path):
    with Image.open(SAMPLES / HAPPY_PHOTO) as image:
        scene = image.convert("RGB")
    paths = {}
    for name, image in {
        "one": scene,
        "two": moved(scene, 8, 4),
        "three": scene.filter(ImageFilter.GaussianBlur(1.5)),
    }.items():
        paths[name] = tmp_path / f"{name}.jpg"
        image.save(paths[name], quality=90)
    shutil.copy(SAMPLES / NEUTRAL_PHOTO, tmp_path / "other.jpg")
    looks = {name: look(path) for name, path in paths.items()} | {"other": look(tmp_path / "other.jpg")}
    shots = [
        Shot(Path("one"), 0.0, looks["one"]),
        Shot(Path("two"), 0.4, looks["two"]),
        Shot(Path("other"), 0.8, looks["other"]),  # taken within the burst, but another photo
        Shot(Path("three"), 1.2, looks["three"]),
        Shot(Path("late"), 30.0, looks["one"]),  # the same look, but half a minute later
    ]
    bursts = [[str(shot.path) for shot in burst] for burst in group_bursts(shots)]
    assert bursts == [["one", "two"], ["other"], ["three"], ["late"]]
    assert difference(looks["one"], looks["three"]) < 0.5 and difference(looks["one"], looks["other"]) > 0.5


def test_best_of_goes_by_eyes_then_emotion_then_sharpness():
    shots = [
        ("closed", False, 0.99, 9.0),
        ("soft", True, 0.80, 1.0),
        ("sharp", True, 0.78, 5.0),
        ("dull", True, 0.5, 9),
    ]
    asked = []

    def sharpness(shot):
        asked.append(shot[0])
        return shot[3]

    best = best_of(shots, lambda s: s[1], lambda s: s[2], sharpness)
    assert best[0] == "sharp" and set(asked) == {"soft", "sharp"}  # within 0.05 of the strongest: a tie
    assert best_of(shots[:1], lambda s: s[1], lambda s: s[2], sharpness)[0] == "closed"  # no better shot


def test_face_sharpness_is_higher_for_the_sharp_shot():
    with Image.open(SAMPLES / HAPPY_PHOTO) as image:
        grey = image.convert("L")
    sharp = np.asarray(grey)
    blurred = np.asarray(grey.filter(ImageFilter.GaussianBlur(2)))
    box = [[0.3, 0.2, 0.4, 0.4]]
    assert face_sharpness(sharp, box) > 2 * face_sharpness(blurred, box)


@pytest.fixture
def bursts(tmp_path) -> dict[str, list[Path]]:
    """Two bursts and a lone photo: a scene whose face blinks in one of three shots; a portrait shot twice, the
    second time shaken; another portrait taken a second after the first burst."""
    if not all((EYES / name).is_file() for name in (BLINK, SMILE)):
        pytest.skip("../shared/data/eyes is not here")
    album = tmp_path / "album"
    album.mkdir()
    blink = scene_with_face(BLINK)
    open_eyes = scene_with_face(SMILE)
    with Image.open(SAMPLES / HAPPY_PHOTO) as image:
        portrait = image.convert("RGB")
    shots = {
        "a1_blink.jpg": (blink, "12:00:00", "10"),
        "a2.jpg": (open_eyes, "12:00:00", "50"),
        "a3.jpg": (moved(open_eyes, 6, 3), "12:00:00", "90"),
        "b1.jpg": (portrait, "12:00:30", "00"),
        "b2_shaken.jpg": (moved(portrait, 4, 2).filter(ImageFilter.GaussianBlur(2)), "12:00:30", "40"),
    }
    for name, (image, when, subsec) in shots.items():
        image.save(album / name, quality=92)
        set_taken(album / name, f"2024:06:01 {when}", subsec)
    shutil.copy(SAMPLES / NEUTRAL_PHOTO, album / "c_alone.jpg")
    set_taken(album / "c_alone.jpg", "2024:06:01 12:00:01", "20")
    return {
        "a": [album / n for n in ("a1_blink.jpg", "a2.jpg", "a3.jpg")],
        "b": [album / "b1.jpg", album / "b2_shaken.jpg"],
        "c": [album / "c_alone.jpg"],
    }


@pytest.mark.slow
def test_top_per_burst_keeps_the_best_shot_of_each_burst(bursts, tmp_path):
    album = bursts["a"][0].parent
    every = json_lines(run_emotag("top", "happy", str(album), "-n", "10", "--json", check=True).stdout)
    assert len(every) == 6
    burst_a = [Path(r["path"]).name for r in every if Path(r["path"]).name.startswith("a")]
    assert burst_a[0] == "a1_blink.jpg"  # the happiest shot of its burst: only its closed eyes keep it out
    html = tmp_path / "sheet.html"
    links = tmp_path / "picks"
    result = run_emotag(
        "top",
        "happy",
        str(album),
        "-n",
        "10",
        "--json",
        "--per-burst",
        "--html",
        str(html),
        "--link-to",
        str(links),
        check=True,
    )
    picks = {Path(r["path"]).name: [Path(p).name for p in r["burst"]] for r in json_lines(result.stdout)}
    assert len(picks) == 3
    a_pick = next(name for name in picks if name.startswith("a"))
    assert a_pick in ("a2.jpg", "a3.jpg")  # never the shot in which the eyes are closed
    assert sorted(picks[a_pick]) == ["a1_blink.jpg", "a2.jpg", "a3.jpg"] and picks[a_pick][0] == a_pick
    assert picks["b1.jpg"] == ["b1.jpg", "b2_shaken.jpg"]  # as happy, but the sharper
    assert picks["c_alone.jpg"] == ["c_alone.jpg"]  # taken a second after burst a, but another photo
    assert sorted(p.name.split("_", 1)[1] for p in links.iterdir() if not p.name.startswith(".")) == sorted(picks)
    page = html.read_text()
    assert page.count("a burst of 3 shots") == 1 and page.count("a burst of 2 shots") == 1
    assert "eyes closed" in page

    run_emotag("tag", str(album), check=True)
    tagged = run_emotag("top", "happy", str(album), "-n", "10", "--json", "--per-burst", "--eyes-open", check=True)
    assert {Path(r["path"]).name for r in json_lines(tagged.stdout)} == set(picks)  # from the tags, the same


@pytest.mark.slow
def test_a_burst_whose_every_shot_blinks_is_left_out_by_eyes_open(bursts):
    album = bursts["a"][0].parent
    for path in bursts["a"][1:] + bursts["b"]:
        path.unlink()
    result = run_emotag("top", "happy", str(album), "--json", "--per-burst", "--eyes-open", check=True)
    assert [Path(r["path"]).name for r in json_lines(result.stdout)] == ["c_alone.jpg"]
