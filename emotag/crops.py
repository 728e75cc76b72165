"""Turn grey face crops into what the expression model reads.

Training (`model_training/`) and tagging call this one function, so a crop means the same thing in both.
"""

import numpy as np

from emotag.emotions import CROP_SIZE


def prepare_crops(crops: np.ndarray) -> np.ndarray:
    """Standardise each crop to zero mean and unit contrast; return float32 (N, 48, 48, 1).

    Per-crop standardisation removes exposure and contrast, which differ far more between real photos than
    between FER2013's crops, so the network learns the face's shape rather than its lighting.
    """
    crops = np.asarray(crops)
    if crops.ndim != 3 or crops.shape[1:] != (CROP_SIZE, CROP_SIZE):
        raise ValueError(f"face crops must be (N, {CROP_SIZE}, {CROP_SIZE}), got {crops.shape}")
    pixels = crops.astype(np.float32)
    mean = pixels.mean(axis=(1, 2), keepdims=True)
    std = pixels.std(axis=(1, 2), keepdims=True)
    return ((pixels - mean) / np.maximum(std, 8.0))[..., np.newaxis]
