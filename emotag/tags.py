"""Decide the tags: which emotions a photo gets, and the keywords that say so in each photo manager's field.

A photo gets an emotion's tag when at least one readable face shows that emotion as its strongest, with at least
that emotion's threshold. One threshold for all would treat a rare, hard emotion like an easy one: the shipped
model's card carries a threshold per emotion, chosen on labelled real photos (`bench/real_photos.py`); the
user's file can set any of them, and `--min-confidence` sets one for all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from emotag.emotions import EMOTIONS

DEFAULT_MIN_CONFIDENCE = 0.5
DEFAULT_ROOT = "Emotion"
DEFAULT_LABELS = {emotion: emotion.capitalize() for emotion in EMOTIONS}
DEFAULT_EYES_CLOSED = "Eyes closed"
"""The keyword of a photo in which a readable face has its eyes closed: a keyword of its own, not under the
emotion root (closed eyes are no emotion). '|' in it makes levels ("Culling|Eyes closed"); empty: no keyword."""

SUBJECT = "XMP-dc:Subject"
HIERARCHICAL = "XMP-lr:HierarchicalSubject"
TAGS_LIST = "XMP-digiKam:TagsList"
IPTC_KEYWORDS = "IPTC:Keywords"
KEYWORD_FIELDS = (SUBJECT, HIERARCHICAL, TAGS_LIST, IPTC_KEYWORDS)
"""Every keyword field emotag writes, each in the form its readers expect."""


@dataclass(frozen=True)
class TagScheme:
    """The keyword root and the leaf label of each emotion (configurable, English by default); the emotions never
    written (`leave_out`, e.g. neutral); and whether the keywords stand alone, without the root above them."""

    root: str = DEFAULT_ROOT
    labels: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_LABELS))
    leave_out: frozenset[str] = frozenset()
    flat: bool = False
    eyes_closed: str = DEFAULT_EYES_CLOSED

    def label(self, emotion: str) -> str:
        return self.labels.get(emotion, emotion.capitalize())

    def written(self, emotions: list[str]) -> list[str]:
        """The emotions of `emotions` that are written as keywords (those left out are still scored and stored)."""
        return [emotion for emotion in emotions if emotion not in self.leave_out]

    def choices(self) -> str:
        """The choices beside root and labels, for the ledger's fingerprint: empty for the defaults, so a ledger
        from before these choices existed stays valid."""
        parts = [f"leave_out={','.join(sorted(self.leave_out))}"] if self.leave_out else []
        return "|".join(parts + (["flat"] if self.flat else []))


@dataclass
class FaceReading:
    """One face's expression: the strongest emotion, its confidence and all seven scores."""

    emotion: str
    confidence: float
    scores: dict[str, float]

    @classmethod
    def from_scores(cls, scores: list[float]) -> FaceReading:
        named = {emotion: float(score) for emotion, score in zip(EMOTIONS, scores)}
        emotion = max(named, key=named.get)
        return cls(emotion, named[emotion], named)


def photo_emotions(readings: list[FaceReading], thresholds: Mapping[str, float]) -> list[str]:
    """The emotions the photo is tagged with, in FER2013 order: a face's strongest, from its threshold on."""
    shown = {r.emotion for r in readings if r.confidence >= thresholds[r.emotion]}
    return [emotion for emotion in EMOTIONS if emotion in shown]


def decision_thresholds(
    min_confidence: float | None, own: Mapping[str, float], model: Mapping[str, float]
) -> dict[str, float]:
    """Each emotion's threshold: one for all when given (`--min-confidence`), else the user's own for that
    emotion, else the model card's, else `DEFAULT_MIN_CONFIDENCE`."""
    if min_confidence is not None:
        return {emotion: float(min_confidence) for emotion in EMOTIONS}
    return {emotion: float(own.get(emotion, model.get(emotion, DEFAULT_MIN_CONFIDENCE))) for emotion in EMOTIONS}


def thresholds_text(thresholds: Mapping[str, float]) -> str:
    """The thresholds as emotag's record keeps them: `angry=0.6 disgust=0.7 ...`, FER2013 order."""
    return " ".join(f"{emotion}={thresholds[emotion]:g}" for emotion in EMOTIONS)


def keywords(emotions: list[str], scheme: TagScheme) -> dict[str, list[str]]:
    """The values emotag puts in each keyword field for these emotions; empty lists when there are none."""
    emotions = scheme.written(emotions)
    if not emotions:
        return {name: [] for name in KEYWORD_FIELDS}
    labels = [scheme.label(e) for e in emotions]
    if scheme.flat:  # every field holds the bare labels: top-level keywords in the hierarchical fields too
        return {name: list(labels) for name in KEYWORD_FIELDS}
    return {
        SUBJECT: labels,
        HIERARCHICAL: [scheme.root] + [f"{scheme.root}|{label}" for label in labels],
        TAGS_LIST: [scheme.root] + [f"{scheme.root}/{label}" for label in labels],
        IPTC_KEYWORDS: labels,
    }


def eyes_closed_keywords(scheme: TagScheme) -> dict[str, list[str]]:
    """The values emotag puts in each keyword field for a photo with closed eyes: the leaf in the flat fields,
    every level in the hierarchical ones."""
    levels = [level for level in scheme.eyes_closed.split("|") if level]
    if not levels:
        return {name: [] for name in KEYWORD_FIELDS}
    return {
        SUBJECT: [levels[-1]],
        HIERARCHICAL: ["|".join(levels[: i + 1]) for i in range(len(levels))],
        TAGS_LIST: ["/".join(levels[: i + 1]) for i in range(len(levels))],
        IPTC_KEYWORDS: [levels[-1]],
    }


def eyes_closed_label(scheme: TagScheme) -> str | None:
    """The closed-eyes keyword as a photo's tag is named (its leaf), or None when the keyword is turned off."""
    levels = [level for level in scheme.eyes_closed.split("|") if level]
    return levels[-1] if levels else None


def combined(*parts: dict[str, list[str]]) -> dict[str, list[str]]:
    """Keyword values of several kinds, field by field, in order."""
    return {name: [value for part in parts for value in part.get(name, [])] for name in KEYWORD_FIELDS}


def merge(current: list[str] | None, previously_added: list[str], ours: list[str]) -> tuple[list[str], list[str]]:
    """A keyword field's new value: the user's own values, untouched and in order, then emotag's new ones.

    `previously_added` is what emotag added last time (removed first); a value the user already has is not
    added again. Returns (the field's new list, what emotag added).
    """
    remaining = list(previously_added)
    user = []
    for value in current or []:
        if value in remaining:
            remaining.remove(value)
        else:
            user.append(value)
    added = [value for value in dict.fromkeys(ours) if value not in user]
    return user + added, added


def user_values(current: list[str] | None, previously_added: list[str]) -> list[str]:
    """A keyword field as it was before emotag: its values without what emotag added."""
    return merge(current, previously_added, [])[0]
