"""Measure a model the way users meet it: accuracy, per-class precision and recall, confusions, calibration."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from emotag.emotions import EMOTIONS

CASE_STUDY = ("angry", "happy", "sad", "neutral")
ECE_BINS = 15


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """Mean gap between confidence and accuracy over equal-width confidence bins, weighted by bin size."""
    return calibration_error(probs.max(axis=1), probs.argmax(axis=1) == labels, bins)


def calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> float:
    """The gap between how sure readings are and how often they are right, over equal-width confidence bins."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    gap = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            gap += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(gap)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of `labels` (a 1-D search, coarse then fine).

    `labels` are class indices (N,) or target distributions (N, 7), such as the crowd's vote shares: a
    confidence of 0.7 should then mean that seven people in ten would say so.
    """
    targets = np.eye(logits.shape[1])[labels] if labels.ndim == 1 else labels

    def nll(t: float) -> float:
        scaled = logits / t
        scaled = scaled - scaled.max(axis=1, keepdims=True)
        log_probs = scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))
        return float(-(targets * log_probs).sum(axis=1).mean())

    grid = np.exp(np.linspace(np.log(0.1), np.log(10.0), 93))
    best = grid[np.argmin([nll(t) for t in grid])]
    fine = np.linspace(best * 0.95, best * 1.05, 41)
    return float(fine[np.argmin([nll(t) for t in fine])])


def metrics(probs: np.ndarray, labels: np.ndarray, votes: np.ndarray | None = None) -> dict:
    """Every figure the model card reports, as plain data; with FER+ votes, the crowd's view of them too."""
    predicted = probs.argmax(axis=1)
    n = len(EMOTIONS)
    confusion = np.zeros((n, n), dtype=int)
    np.add.at(confusion, (labels, predicted), 1)
    four = [EMOTIONS.index(e) for e in CASE_STUDY]
    of_four = np.isin(labels, four)
    predicted_four = np.array(four)[probs[of_four][:, four].argmax(axis=1)]
    per_class = {}
    for i, emotion in enumerate(EMOTIONS):
        said = confusion[:, i].sum()
        true = confusion[i].sum()
        per_class[emotion] = {
            "precision": float(confusion[i, i] / said) if said else 0.0,
            "recall": float(confusion[i, i] / true) if true else 0.0,
            "support": int(true),
        }
    figures = {
        "faces": int(len(labels)),
        "accuracy_7": float((predicted == labels).mean()),
        "accuracy_4": float((predicted_four == labels[of_four]).mean()),
        "ece_15": expected_calibration_error(probs, labels),
        "per_class": per_class,
        "confusion": confusion.tolist(),
        "thresholds": threshold_table(probs, labels),
    }
    if votes is not None:
        figures["crowd"] = crowd_figures(predicted, predicted_four, labels, votes)
        voted = votes.sum(axis=1) > 0
        top = votes.max(axis=1, keepdims=True)
        # Right when the reading is one of the crowd's top choices (ties count for each class tied).
        right = votes[np.arange(len(labels)), predicted] == top[:, 0]
        figures["crowd"]["ece_15"] = calibration_error(probs[voted].max(axis=1), right[voted])
        shares = votes[voted] / votes[voted].sum(axis=1, keepdims=True)
        figures["crowd"]["share_error"] = float(np.abs(probs[voted] - shares).sum(axis=1).mean() / 2)
    return figures


def crowd_figures(predicted: np.ndarray, predicted_four: np.ndarray, labels: np.ndarray, votes: np.ndarray) -> dict:
    """How often ten FER+ annotators' top choice is FER2013's label, and how often it is the model's reading.

    FER2013's labels are noisy: this shows how much of the model's "error" is the label's. A class counts as the
    crowd's top choice when no class got more votes (ties count for each class tied). Only faces the crowd gave
    a vote among the classes compared are counted. `predicted_four` is the model's reading among the four
    case-study classes, for the faces labelled with one of them.
    """
    rows = np.arange(len(labels))
    voted = votes.sum(axis=1) > 0
    crowd_top = votes.argmax(axis=1)
    top = votes.max(axis=1)
    label_top, model_top = votes[rows, labels] == top, votes[rows, predicted] == top
    four = np.array([EMOTIONS.index(e) for e in CASE_STUDY])
    of_four = np.isin(labels, four)
    votes_four = votes[of_four][:, four]
    voted_four = votes_four.sum(axis=1) > 0
    top_four = votes_four.max(axis=1)
    label_top_four = votes[rows[of_four], labels[of_four]] == top_four
    model_top_four = votes[rows[of_four], predicted_four] == top_four
    differ = voted & (predicted != labels)
    return {
        "faces": int(voted.sum()),
        "label_is_crowd_top_7": float(label_top[voted].mean()),
        "model_is_crowd_top_7": float(model_top[voted].mean()),
        "faces_4": int(voted_four.sum()),
        "label_is_crowd_top_4": float(label_top_four[voted_four].mean()),
        "model_is_crowd_top_4": float(model_top_four[voted_four].mean()),
        "model_differs_from_label": int(differ.sum()),
        "crowd_sides_with_model": float(model_top[differ].mean()) if differ.any() else 0.0,
        "crowd_sides_with_label": float(label_top[differ].mean()) if differ.any() else 0.0,
        "crowd_recall": {
            emotion: float(model_top[voted & (crowd_top == i)].mean()) if (voted & (crowd_top == i)).any() else 0.0
            for i, emotion in enumerate(EMOTIONS)
        },
        "crowd_support": {emotion: int((voted & (crowd_top == i)).sum()) for i, emotion in enumerate(EMOTIONS)},
    }


def threshold_table(probs: np.ndarray, labels: np.ndarray, thresholds=(0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)) -> list:
    """For each minimum confidence: the share of faces that get a tag, and how often that tag is right.

    This is what the tagging threshold trades: more photos tagged against more wrong tags.
    """
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    rows = []
    for threshold in thresholds:
        tagged = confidence >= threshold
        rows.append(
            {
                "min_confidence": threshold,
                "faces_tagged": float(tagged.mean()),
                "tags_right": float(correct[tagged].mean()) if tagged.any() else 0.0,
            }
        )
    return rows


def report(figures: dict) -> str:
    """The figures as text for a terminal and the model card."""
    lines = [f"faces {figures['faces']}"]
    if "crowd" in figures:
        agreement = figures["crowd"]["model_is_crowd_top_7"]
        lines.append(f"agreement with the FER+ crowd's majority, 7 classes: {agreement:.4f}")
    lines += [
        f"accuracy, 7 classes: {figures['accuracy_7']:.4f}",
        f"accuracy, 4 classes ({', '.join(CASE_STUDY)}): {figures['accuracy_4']:.4f}",
        f"expected calibration error (15 bins): {figures['ece_15']:.4f}",
        "class      precision recall support",
    ]
    for emotion, row in figures["per_class"].items():
        lines.append(f"{emotion:<10} {row['precision']:9.3f} {row['recall']:6.3f} {row['support']:7d}")
    lines.append("confusion (rows: true, columns: predicted, " + " ".join(e[:3] for e in EMOTIONS) + ")")
    lines += [f"{e[:3]:<4} " + " ".join(f"{v:4d}" for v in row) for e, row in zip(EMOTIONS, figures["confusion"])]
    lines.append("min confidence  faces tagged  tags right")
    lines += [
        f"{r['min_confidence']:14.1f} {r['faces_tagged']:13.3f} {r['tags_right']:11.3f}" for r in figures["thresholds"]
    ]
    if "crowd" in figures:
        crowd = figures["crowd"]
        lines += [
            f"FER+ crowd (ten people a face), its top choice on {crowd['faces']} faces"
            f" ({crowd['faces_4']} of the 4 classes):",
            f"  is the FER2013 label: {crowd['label_is_crowd_top_7']:.4f}"
            f" (4 classes: {crowd['label_is_crowd_top_4']:.4f})",
            f"  is the model's reading: {crowd['model_is_crowd_top_7']:.4f}"
            f" (4 classes: {crowd['model_is_crowd_top_4']:.4f})",
            f"  where the model and the label differ ({crowd['model_differs_from_label']} faces): sides with the model"
            f" {crowd['crowd_sides_with_model']:.4f}, with the label {crowd['crowd_sides_with_label']:.4f}",
            f"  calibration against the crowd: ECE (15 bins) {crowd['ece_15']:.4f},"
            f" mean distance from the vote shares {crowd['share_error']:.4f}",
            "  recall of each class the crowd chose: "
            + ", ".join(f"{e} {crowd['crowd_recall'][e]:.3f} ({crowd['crowd_support'][e]})" for e in EMOTIONS),
        ]
    return "\n".join(lines)


def save_plots(probs: np.ndarray, labels: np.ndarray, figures: dict, folder: Path, title: str) -> None:
    """Write `confusion.png` and `reliability.png` into `folder`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    confusion = np.array(figures["confusion"], dtype=float)
    share = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for (i, j), value in np.ndenumerate(share):
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", color="white" if value > 0.5 else "black", fontsize=8)
    ax.set_xticks(range(len(EMOTIONS)), EMOTIONS, rotation=45)
    ax.set_yticks(range(len(EMOTIONS)), EMOTIONS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{title}: share of each true class")
    fig.tight_layout()
    fig.savefig(folder / "confusion.png", dpi=100)
    plt.close(fig)

    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0, 1, ECE_BINS + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, ECE_BINS - 1)
    centres = (edges[:-1] + edges[1:]) / 2
    accuracy = [correct[which == b].mean() if (which == b).any() else np.nan for b in range(ECE_BINS)]
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.bar(centres, accuracy, width=1 / ECE_BINS, edgecolor="black", alpha=0.7, label="accuracy")
    ax.plot([0, 1], [0, 1], "k--", label="perfect calibration")
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{title}: ECE {figures['ece_15']:.3f}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "reliability.png", dpi=100)
    plt.close(fig)


def save_figures(figures: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2) + "\n")
