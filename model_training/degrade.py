"""What real photos do to a face, applied to FER2013's clean crops while training.

Faces cut from photos are blurred, noisy, JPEG-compressed, upscaled from 30-100 px film stills, lit from one
side, flat or harsh. `prepare_crops` standardises exposure and contrast away, but not these: the network must
see them to read such faces. Each degradation hits a random part of each batch, seeded, so a run repeats.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter

from emotag.emotions import CROP_SIZE

# Probability that a face gets each degradation; several can stack on one face.
CHANCE = {"gamma": 0.3, "side_light": 0.3, "flat": 0.2, "low_res": 0.3, "blur": 0.15, "noise": 0.25, "jpeg": 0.3}
_RAMP_Y, _RAMP_X = np.mgrid[-1 : 1 : CROP_SIZE * 1j, -1 : 1 : CROP_SIZE * 1j].astype(np.float32)


def degrade(faces: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return degraded copies of float (N, 48, 48) grey faces in 0-255, rounded to whole grey levels."""
    out = np.clip(np.asarray(faces, dtype=np.float32), 0, 255).copy()
    n = len(out)

    def chosen(name: str) -> np.ndarray:
        return np.flatnonzero(rng.random(n) < CHANCE[name])

    pick = chosen("gamma")  # exposure curves: gamma 0.5-2
    gamma = np.exp(rng.uniform(np.log(0.5), np.log(2.0), len(pick))).astype(np.float32)
    out[pick] = 255 * (out[pick] / 255) ** gamma[:, None, None]

    pick = chosen("side_light")  # light from one side: a linear ramp in a random direction, up to +-60%
    angle = rng.uniform(0, 2 * np.pi, len(pick))
    strength = rng.uniform(0.2, 0.6, len(pick)).astype(np.float32)
    ramp = np.cos(angle)[:, None, None] * _RAMP_X + np.sin(angle)[:, None, None] * _RAMP_Y
    out[pick] *= 1 + strength[:, None, None] * ramp

    pick = chosen("flat")  # haze or underexposure: contrast squeezed to 20-60%, then whole grey levels
    squeeze = rng.uniform(0.2, 0.6, len(pick)).astype(np.float32)[:, None, None]
    mean = out[pick].mean(axis=(1, 2), keepdims=True)
    out[pick] = mean + (out[pick] - mean) * squeeze
    out = np.round(np.clip(out, 0, 255))

    for i in chosen("low_res"):  # a small face, upscaled as emotag's own crop cutting does
        side = int(rng.integers(12, 37))
        small = Image.fromarray(out[i].astype(np.uint8)).resize((side, side), Image.Resampling.BOX)
        out[i] = np.asarray(small.resize((CROP_SIZE, CROP_SIZE), Image.Resampling.BILINEAR), dtype=np.float32)
    for i in chosen("blur"):  # focus and motion blur
        radius = float(rng.uniform(0.5, 1.5))
        blurred = Image.fromarray(out[i].astype(np.uint8)).filter(ImageFilter.GaussianBlur(radius))
        out[i] = np.asarray(blurred, dtype=np.float32)
    pick = chosen("noise")  # sensor noise at high ISO: 2-12 grey levels
    sigma = rng.uniform(2, 12, len(pick)).astype(np.float32)[:, None, None]
    out[pick] += rng.standard_normal(out[pick].shape).astype(np.float32) * sigma
    out = np.round(np.clip(out, 0, 255))
    for i in chosen("jpeg"):  # JPEG blocks and ringing: quality 10-60
        buffer = io.BytesIO()
        Image.fromarray(out[i].astype(np.uint8)).save(buffer, "JPEG", quality=int(rng.integers(10, 61)))
        with Image.open(buffer) as decoded:
            out[i] = np.asarray(decoded, dtype=np.float32)
    return out
