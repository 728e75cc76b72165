"""What a run says of each photo: its status, its faces and its tags, as `--json` prints them.

The status values are strings the Lua plug-ins and scripts parse: `Status` is a `str` enum, so a status prints,
compares and serialises as exactly that string.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path


class Status(str, Enum):
    """What happened to a photo.

    tagged: emotag read the faces and wrote its tags and record; updated: an already tagged photo's tags changed
    (a new threshold or label, or a keyword the user took away, taken out of every field); left_untagged: the
    user took emotag's tags off with `emotag untag`, so it is left alone until `emotag tag --force` names it.
    untagged, not_tagged: what `emotag untag` did (or, with `--dry-run`, would do) to a photo.
    """

    TAGGED = "tagged"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    NO_FACES = "no_faces"
    SKIPPED = "skipped"
    LEFT_UNTAGGED = "left_untagged"
    ERROR = "error"
    UNTAGGED = "untagged"
    NOT_TAGGED = "not_tagged"

    def __str__(self) -> str:
        return self.value


@dataclass
class FaceResult:
    """A face as reported: box in pixels of the photo as displayed; no emotion when too small to read."""

    box: list[int]
    emotion: str | None = None
    confidence: float | None = None
    scores: dict[str, float] | None = None
    eyes: str | None = None  # "open", "closed", or None when they cannot be told (or the face is too small)
    eyes_closed: float | None = None  # 0-1; emotag reads 0.5 and up as closed


@dataclass
class PhotoResult:
    """One photo's outcome, as `--json` prints it."""

    path: str
    status: Status
    faces: list[FaceResult] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)  # the emotion tags (under the emotion root)
    error: str | None = None
    added: list[str] = field(default_factory=list)  # emotag's tags this photo gains (would gain: --dry-run)
    removed: list[str] = field(default_factory=list)  # emotag's tags it loses (would lose)
    eyes_tag: str | None = None  # the closed-eyes keyword ("Eyes closed", levels joined by '|'), when written

    def __post_init__(self) -> None:
        self.status = Status(self.status)  # a status read back as text (a ledger row, a worker's answer) is a Status

    def to_json(self) -> dict:
        data = asdict(self)
        if self.error is None:
            del data["error"]
        return data


@dataclass
class UntagResult:
    """What `emotag untag` did to one photo: untagged, not_tagged (nothing of emotag's in it), or error."""

    path: Path
    status: Status
    error: str | None = None

    def to_json(self) -> dict:
        return {"path": str(self.path), "status": self.status} | ({"error": self.error} if self.error else {})


@dataclass
class ReadFace:
    """A face read back for `top` and `show`, from emotag's record in the photo or read now: its box normalised to
    the photo as displayed (x, y, w, h in 0..1) and all seven scores."""

    box: list[float]
    scores: dict[str, float]
    eyes: str | None = None  # "open", "closed", or None (cannot be told, or a record from before eyes were read)
    eyes_closed: float | None = None


@dataclass
class PhotoFaces:
    """A photo's faces read back, or why they could not be."""

    path: Path
    faces: list[ReadFace] = field(default_factory=list)
    error: str | None = None
