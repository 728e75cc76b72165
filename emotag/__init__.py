"""emotag: read the expressions on the faces in photos and write them where photo managers search."""

from emotag.emotions import EMOTIONS

__version__ = "0.1.0"
__all__ = ["EMOTIONS", "classify_crops"]


def classify_crops(crops):
    """Calibrated (N, 7) probabilities for (N, 48, 48) uint8 grey face crops; see `emotag.expressions`."""
    from emotag.expressions import classify_crops as classify  # keeps `import emotag` light

    return classify(crops)
