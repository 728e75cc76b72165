"""The training package: every data layout loads, and a smoke run trains, calibrates, exports and evaluates."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from emotag.emotions import EMOTIONS
from emotag.expressions import ExpressionModel
from model_training import data
from model_training.evaluate import expected_calibration_error, fit_temperature, metrics
from tests.helpers import ROOT, SHARED


def fake_faces(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Crops whose class is written into them (brightness pattern), so a model can learn something quickly."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(EMOTIONS), count)
    images = rng.integers(0, 60, (count, 48, 48)).astype(np.uint8)
    for image, label in zip(images, labels):
        image[:, label * 6 : label * 6 + 6] += 150
    return images, labels


def write_csv(path, splits: dict[str, int]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["emotion", "pixels", "Usage"])
        for usage, count in splits.items():
            images, labels = fake_faces(count, seed=len(usage))
            for image, label in zip(images, labels):
                writer.writerow([label, " ".join(map(str, image.flatten())), usage])


def test_kaggle_csv_loads_by_usage(tmp_path):
    write_csv(tmp_path / "fer2013.csv", {"Training": 30, "PublicTest": 10, "PrivateTest": 5})
    train = data.load(tmp_path / "fer2013.csv", "train")
    test = data.load(tmp_path / "fer2013.csv", "test")
    assert train.images.shape == (30, 48, 48) and train.images.dtype == np.uint8
    assert len(test) == 5 and train.votes is None


def test_image_folders_load_with_labels_from_folder_names(tmp_path):
    for split in ("train", "test"):
        for label, emotion in enumerate(EMOTIONS):
            folder = tmp_path / split / emotion
            folder.mkdir(parents=True)
            Image.fromarray(np.full((48, 48), label * 30, np.uint8)).save(folder / "a.jpg")
    faces = data.load(tmp_path, "val")
    assert list(faces.labels) == list(range(7))
    assert abs(int(faces.images[3].mean()) - 90) <= 2


def test_calibration_figures():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 7, 4000)
    evidence = rng.normal(size=(4000, 7))
    evidence[np.arange(4000), labels] += 2.0
    logits = 2 * evidence  # the exact posterior log-odds for this generator: calibrated at temperature 1
    temperature = fit_temperature(logits * 3, labels)
    assert 2.6 < temperature < 3.4, "logits three times too confident need a temperature near 3"
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    overconfident = np.exp(logits * 3) / np.exp(logits * 3).sum(axis=1, keepdims=True)
    assert expected_calibration_error(probs, labels) < 0.03 < expected_calibration_error(overconfident, labels)
    figures = metrics(probs, labels)
    assert 0 < figures["accuracy_7"] < figures["accuracy_4"] <= 1
    assert sum(map(sum, figures["confusion"])) == 4000


def test_crowd_figures_count_ties_for_each_class_and_skip_faces_without_votes():
    # columns: angry, disgust, fear, happy, sad, surprise, neutral
    labels = np.array([0, 3, 4, 6, 1])
    votes = np.zeros((5, 7), np.float32)
    votes[0, [0, 4]] = 6, 4  # the crowd says angry, as the label; the model reads sad
    votes[1, 3] = 10  # everyone agrees: happy
    votes[2, [2, 4, 6]] = 6, 3, 1  # label sad, crowd fear, model fear (sad among the four classes)
    votes[3, [4, 6]] = 5, 5  # a tie between the label (neutral) and the model (sad)
    probs = np.full((5, 7), 0.01)
    probs[[0, 1, 3, 4], [4, 3, 4, 0]] = 0.9
    probs[2, [2, 4, 6]] = 0.5, 0.3, 0.2
    crowd = metrics(probs, labels, votes)["crowd"]
    assert (crowd["faces"], crowd["faces_4"], crowd["model_differs_from_label"]) == (4, 4, 3)  # face 4: no votes
    assert crowd["label_is_crowd_top_7"] == crowd["model_is_crowd_top_7"] == 0.75
    assert (crowd["label_is_crowd_top_4"], crowd["model_is_crowd_top_4"]) == (1.0, 0.75)
    assert crowd["crowd_sides_with_model"] == crowd["crowd_sides_with_label"] == 2 / 3
    assert "crowd" not in metrics(probs, labels)


@pytest.mark.slow
def test_smoke_training_trains_exports_calibrates_and_evaluates(tmp_path):
    if (SHARED / "fer2013").is_dir():
        source, limit = SHARED / "fer2013", ["--limit", "300"]
    else:
        write_csv(tmp_path / "fer2013.csv", {"Training": 300, "PublicTest": 120})
        source, limit = tmp_path / "fer2013.csv", []
    models = tmp_path / "models"
    command = [
        sys.executable,
        "-m",
        "model_training",
        "train",
        "--data",
        str(source),
        *limit,
        "--epochs",
        "1",
        "--cycles",
        "2",
        "--snapshots",
        "--distill",
        "--run",
        str(tmp_path / "run"),
        "--models",
        str(models),
        "--version",
        "smoke",
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "accuracy, 7 classes" in result.stdout and "expected calibration error" in result.stdout
    assert ("FER+ crowd" in result.stdout) == (source.suffix == "")  # the archives carry the votes, the CSV not
    card = json.loads((models / "expression-model.json").read_text())
    assert card["version"] == "smoke" and card["temperature"] > 0 and (card["epochs"], card["cycles"]) == (2, 2)
    assert card["snapshots"] is True and card["distill"] is True and card["training_minutes"] > 0
    for plot in ("confusion.png", "reliability.png"):
        assert Image.open(models / "evaluation" / plot).size[0] > 100
    training_log = (tmp_path / "run" / "train.log").read_text()
    assert training_log.count("epoch 1:") == 2  # one epoch in each learning-rate cycle
    assert f"starting from the weights in {tmp_path / 'run' / 'best.keras'}" in training_log
    assert "teacher: 1 snapshot(s) x 4 views agree with the labels" in training_log  # cycle 2 learns from cycle 1
    taught = np.load(tmp_path / "run" / "cycle-2" / "teacher.npy")
    assert taught.shape[1] == 7 and np.allclose(taught.sum(axis=1), 1, atol=1e-5) and taught.max(axis=1).min() < 1
    again = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert again.returncode == 0 and again.stderr.count("finished earlier") == 2  # a finished run moves on
    probabilities = ExpressionModel(models).classify(fake_faces(5)[0])
    assert probabilities.shape == (5, 7) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)


@pytest.mark.slow
def test_ensemble_of_one_network_twice_reads_faces_as_that_network(tmp_path):
    """`ensemble` averages members' logits: two copies of the shipped network must read faces as it does."""
    from emotag.expressions import ModelInfo, model_folder

    info = ModelInfo.read(model_folder())
    network = model_folder() / f"expression-{info.version}.keras"
    models = tmp_path / "models"
    source = SHARED / "fer2013" if (SHARED / "fer2013").is_dir() else None
    if source is None:
        write_csv(tmp_path / "fer2013.csv", {"Training": 10, "PublicTest": 120})
        source = tmp_path / "fer2013.csv"
    command = [sys.executable, "-m", "model_training", "ensemble", str(network), str(network)]
    command += ["--data", str(source), "--limit", "300", "--models", str(models), "--version", "twice"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    faces = fake_faces(20)[0]
    alone, twice = ExpressionModel(model_folder()).logits(faces), ExpressionModel(models).logits(faces)
    assert np.allclose(alone, twice, atol=1e-3)


def test_targets_are_the_crowds_vote_shares_with_a_share_of_the_label():
    # columns: angry, disgust, fear, happy, sad, surprise, neutral
    votes = np.zeros((3, 7), np.float32)
    votes[0, [3, 5]] = 8, 2  # the crowd: happy, some surprise; FER2013 says surprise
    votes[2, 6] = 1  # one vote among the seven (the other nine went to contempt, unknown, not a face)
    faces = data.FaceSet(np.zeros((3, 48, 48), np.uint8), np.array([5, 4, 0]), votes)
    targets = data.soft_targets(faces, 0.1)
    assert np.allclose(targets[0], [0, 0, 0, 0.72, 0, 0.1 + 0.18, 0])
    assert np.allclose(targets[1], np.eye(7)[4])  # no vote among the seven: FER2013's label alone
    assert np.allclose(targets[2], 0.1 * np.eye(7)[0] + 0.9 * np.eye(7)[6])
    assert np.allclose(data.soft_targets(faces, 0.0)[0], votes[0] / 10)
    not_face = data.faces_only(data.FaceSet(faces.images, faces.labels, votes, np.array([False, True, False])))
    assert len(not_face) == 2 and not_face.labels.tolist() == [5, 0]


def test_degradations_change_faces_as_photos_do_and_repeat_with_the_seed():
    from model_training.degrade import CHANCE, degrade

    faces = fake_faces(256)[0].astype(np.float32) + 40
    once, again = degrade(faces, np.random.default_rng(7)), degrade(faces, np.random.default_rng(7))
    assert np.array_equal(once, again) and not np.array_equal(once, degrade(faces, np.random.default_rng(8)))
    assert once.shape == faces.shape and once.min() >= 0 and once.max() <= 255 and np.all(once == np.round(once))
    changed = np.abs(once - faces).mean(axis=(1, 2)) > 1
    untouched = np.prod([1 - p for p in CHANCE.values()])
    assert abs(changed.mean() - (1 - untouched)) < 0.1, "about as many faces degraded as the chances say"
    assert np.array_equal(degrade(faces[:0], np.random.default_rng(0)), faces[:0])


def test_calibration_is_measured_and_fitted_against_the_crowds_top_choice():
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(7) * 0.5, 4000)
    top = np.array([rng.choice(7, p=p) for p in probs])  # the crowd's top choice, as often as the model says
    votes = np.zeros((4000, 7), np.float32)
    votes[np.arange(4000), top] = 6
    votes[np.arange(4000), (top + 1) % 7] = 4
    faces = data.FaceSet(np.zeros((4000, 48, 48), np.uint8), rng.integers(0, 7, 4000), votes)
    assert np.array_equal(data.crowd_majority(faces).argmax(axis=1), top)
    assert 1.8 < fit_temperature(np.log(probs) * 2, data.crowd_majority(faces)) < 2.2  # twice too sharp
    crowd = metrics(probs, faces.labels, votes)["crowd"]
    overconfident = metrics(probs**3 / (probs**3).sum(axis=1, keepdims=True), faces.labels, votes)["crowd"]
    assert crowd["ece_15"] < 0.03 < overconfident["ece_15"]
    assert 0.35 < crowd["model_is_crowd_top_7"] < 0.75 and crowd["share_error"] > 0
    assert set(crowd["crowd_recall"]) == set(EMOTIONS) and sum(crowd["crowd_support"].values()) == crowd["faces"]
    tied = data.FaceSet(faces.images[:1], np.array([0]), np.array([[5, 0, 0, 5, 0, 0, 0]], np.float32))
    assert np.allclose(data.crowd_majority(tied), [[0.5, 0, 0, 0.5, 0, 0, 0]])


def test_each_member_can_have_its_own_cycles_seeds_counting_up_and_restarts_from_its_last_best(tmp_path):
    from argparse import Namespace

    from model_training.__main__ import member_plan

    args = Namespace(
        run=tmp_path,
        members=2,
        epochs=[26],
        cycles=[2, 1],
        restart_epochs=12,
        seed=[1234],
        distill=False,
        architecture=["vgg", "resnet"],
    )
    first, second = member_plan(args)
    assert [(s.run, s.epochs, s.seed, s.start_from) for s in first] == [
        (tmp_path / "member-1", 26, 1234, None),
        (tmp_path / "member-1" / "cycle-2", 12, 1334, tmp_path / "member-1" / "best.keras"),
    ]
    assert [(s.run, s.epochs, s.seed, s.start_from) for s in second] == [(tmp_path / "member-2", 26, 1235, None)]
    assert [s.architecture for s in first + second] == ["vgg", "vgg", "resnet"]  # a restart keeps its network
    args.seed = [1234, 1236]  # a member's own seed: its restarts count on from it
    assert [s.seed for stages in member_plan(args) for s in stages] == [1234, 1334, 1236]
    args.cycles = [2, 1, 3]
    with pytest.raises(SystemExit, match="--cycles takes one value, or one per member"):
        member_plan(args)


def test_every_architecture_the_command_offers_builds_a_network_of_seven_logits():
    from model_training.__main__ import ARCHITECTURES as OFFERED
    from model_training.model import ARCHITECTURES, build_model

    assert set(OFFERED) == set(ARCHITECTURES)
    crops = np.random.default_rng(0).normal(size=(2, 48, 48, 1)).astype(np.float32)
    for name in OFFERED:
        network = build_model(name)
        assert network(crops).shape == (2, 7) and 0.5e6 < network.count_params() < 2e6, name
