"""Training, evaluation, calibration and export of emotag's expression model (FER2013)."""
