"""Put a trained, calibrated model where the emotag runtime loads it."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import keras

from emotag.emotions import CROP_SIZE, EMOTIONS
from emotag.expressions import MODEL_CARD_FILE


def export(model: keras.Model, folder: Path, version: str, temperature: float, mirror: bool, extra: dict) -> Path:
    """Save the weights as `expression-<version>.keras` and describe them in `expression-model.json`."""
    folder.mkdir(parents=True, exist_ok=True)
    weights = f"expression-{version}.keras"
    for old in folder.glob("expression-*.keras"):
        if old.name != weights:
            old.unlink()
    model.save(folder / weights)
    description = {
        "version": version,
        "weights": weights,
        "temperature": round(temperature, 4),
        "mirror": mirror,
        "emotions": list(EMOTIONS),
        "input": f"grey {CROP_SIZE}x{CROP_SIZE} uint8 face crops, framed like FER2013, emotag.crops.prepare_crops",
        "exported": date.today().isoformat(),
        **extra,
    }
    (folder / MODEL_CARD_FILE).write_text(json.dumps(description, indent=2) + "\n")
    return folder / weights
