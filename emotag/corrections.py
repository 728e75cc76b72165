"""The photographer's corrections: emotag's keywords the user took away stay away.

emotag records, in each photo, the values it added to each keyword field and the label each emotion was written
as. A value it added that a field no longer holds was taken away by the user (or by the user's photo manager):
the emotion it names is then *rejected* for that photo. A rejected emotion is written nowhere any more: emotag
takes its own remaining copies of that keyword out of every other field (a photo manager that edits only
`dc:subject`, say, would otherwise leave it findable in digiKam or Windows), and a later threshold, label or
model never brings it back. emotag keeps the list in the photo (`XMP-emotag:Rejected`); `emotag tag --force`
forgets it and decides again. The keyword root (`Emotion`) alone taken away rejects nothing: some managers drop
a parent entry that the full path (`Emotion|Happy`) already implies.

The closed-eyes keyword follows the same rule: taken away, it is written no more (`Rejected` then holds
`EYES_CLOSED`), until `--force`. A parent level of it alone (`Culling` of `Culling|Eyes closed`) rejects nothing.
"""

from __future__ import annotations

from emotag.emotions import EMOTIONS
from emotag.record import TagRecord
from emotag.tags import (
    DEFAULT_LABELS,
    HIERARCHICAL,
    IPTC_KEYWORDS,
    KEYWORD_FIELDS,
    TAGS_LIST,
    TagScheme,
    eyes_closed_keywords,
    eyes_closed_label,
)

SEPARATORS = {HIERARCHICAL: "|", TAGS_LIST: "/"}
EYES_CLOSED = "eyes_closed"
"""How `XMP-emotag:Rejected` names the closed-eyes keyword taken away (beside the emotions it lists)."""


def taken_away(record: TagRecord) -> dict[str, list[str]]:
    """For each keyword field, the values emotag added that it no longer holds (a value added twice and held
    once counts once)."""
    gone: dict[str, list[str]] = {}
    for name, added in record.added.items():
        left = list(record.fields.get(name, []))
        for value in added:
            if value in left:
                left.remove(value)
            else:
                gone.setdefault(name, []).append(value)
    return gone


def rejected_emotions(record: TagRecord, scheme: TagScheme, fields: tuple[str, ...] = KEYWORD_FIELDS) -> list[str]:
    """The emotions the user rejected for this photo: those rejected before, those whose keyword emotag added and
    a field no longer holds, and those emotag tagged whose keyword a field it writes (`fields`) no longer holds at
    all (the user's own `Happy`, which emotag did not add twice, taken away). In FER2013 order."""
    by_label = _labels_written(record, scheme)
    rejected = set(record.rejected) & set(EMOTIONS)
    if len(record.labels) == len(record.emotions):  # recorded since emotag kept the labels it wrote
        for emotion, label in zip(record.emotions, record.labels):
            if any(not _holds(record, name, label) for name in fields):
                rejected.add(emotion)
    for name, values in taken_away(record).items():
        separator = SEPARATORS.get(name)
        for value in values:
            if separator and separator not in value:
                continue  # the root alone: implied by the full paths some managers keep instead
            leaf = value.rsplit(separator, 1)[-1] if separator else value
            rejected.update(by_label.get(leaf, ()))
    return [emotion for emotion in EMOTIONS if emotion in rejected]


def eyes_closed_rejected(record: TagRecord, scheme: TagScheme, fields: tuple[str, ...] = KEYWORD_FIELDS) -> bool:
    """Whether the user rejected the closed-eyes keyword for this photo: rejected before; or its full value (the
    leaf, or the whole path in a hierarchical field), which emotag added, a field no longer holds; or emotag added
    it and a field it writes (`fields`) no longer holds its leaf at all (the user's own copy taken away)."""
    if EYES_CLOSED in record.rejected:
        return True
    label = eyes_closed_label(scheme)
    if label is None:
        return False
    full = {name: values[-1] for name, values in eyes_closed_keywords(scheme).items()}
    gone = taken_away(record)
    if any(full[name] in values for name, values in gone.items() if name in full):
        return True
    added = any(full[name] in record.added.get(name, []) for name in full)
    return added and any(not _holds(record, name, label) for name in fields)


def _holds(record: TagRecord, name: str, label: str) -> bool:
    """Whether a keyword field still says `label` (in a hierarchical field, as the leaf of any path). A label
    Latin-1 IPTC cannot spell was never written there."""
    if name == IPTC_KEYWORDS and record.latin1_iptc and not label.isascii():
        try:
            label.encode("latin-1")
        except UnicodeEncodeError:
            return True
    separator = SEPARATORS.get(name)
    return any(v == label or (separator and v.endswith(separator + label)) for v in record.fields.get(name, []))


def _labels_written(record: TagRecord, scheme: TagScheme) -> dict[str, set[str]]:
    """Which emotion each label names: as emotag recorded writing it, else as the labels are now or by default."""
    names: dict[str, set[str]] = {}
    for emotion in EMOTIONS:
        for label in (scheme.label(emotion), DEFAULT_LABELS[emotion]):
            names.setdefault(label, set()).add(emotion)
    if len(record.labels) == len(record.emotions):
        for emotion, label in zip(record.emotions, record.labels):
            names[label] = {emotion}
    return names


def implied_roots(record: TagRecord, ours: dict[str, list[str]], scheme: TagScheme) -> dict[str, list[str]]:
    """`ours` without the keyword root in a hierarchical field that lacks it but already holds one of the paths
    under it: the path implies the root, and a manager that dropped the root entry would see it come back."""
    kept = dict(ours)
    for name, separator in SEPARATORS.items():
        current = record.fields.get(name, [])
        under_root = [v for v in ours.get(name, []) if v.startswith(scheme.root + separator) and v in current]
        if scheme.root not in current and under_root:
            kept[name] = [v for v in ours.get(name, []) if v != scheme.root]
    return kept
