"""The seven expressions emotag reads, in FER2013's column order.

Every array of scores in emotag (model output, JSON, metadata) uses this order, so a column index means the same
emotion everywhere.
"""

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""FER2013's label order: 0 angry ... 6 neutral."""

CROP_SIZE = 48
"""Side of the square grey face crop the model reads, as in FER2013."""
