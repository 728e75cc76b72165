"""Folders (and files) to leave alone when a folder is walked: those NAS systems, operating systems and photo
managers keep for themselves, and those the user names with `--exclude` or `exclude = [...]`.

Synology's `@eaDir` holds a JPEG thumbnail of every photo, `#recycle` the photos the user deleted, Lightroom's
`.lrdata` folders its previews: tagging them would waste hours and write into files that are not the user's
photos. A folder or photo named on the command line is never left out: the user asked for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase

LEFT_ALONE = (
    # Synology DSM
    "@eaDir",  # thumbnails (real JPEGs: SYNOPHOTO_THUMB_*.jpg) and index data of every photo
    "#recycle",  # the share's recycle bin
    "#snapshot",  # snapshots of the share, read-only copies of every photo
    "@sharebin",
    "@tmp",
    # QNAP QTS
    "@Recycle",
    "@Recently-Snapshot",
    ".@__thumb",
    ".@__qini",
    "@Transcode",
    ".streams",
    # Windows, macOS, Linux
    "$RECYCLE.BIN",
    "System Volume Information",
    ".AppleDouble",
    ".AppleDB",
    ".AppleDesktop",
    ".Trashes",
    ".Spotlight-V100",
    ".fseventsd",
    ".TemporaryItems",
    ".Trash-*",
    ".thumbnails",
    "lost+found",
    # photo managers' own folders: their caches, previews, trash and libraries
    "*.lrdata",  # Lightroom Classic's previews and smart previews
    "*.photoslibrary",  # Apple Photos' library: its files belong to Photos
    "*.photolibrary",  # iPhoto
    "*.aplibrary",  # Aperture
    "CaptureOne",  # Capture One's caches and settings beside the photos
    ".dtrash",  # digiKam's trash
    ".picasaoriginals",  # Picasa's copies of the originals of edited photos
    "appdata_*",  # Nextcloud's previews, in its data folder
)
"""Folder names left alone by default (case does not matter), wherever they are met. Hidden folders (a name
starting with '.') are left alone anyway; those above are listed for the reader."""


class Exclusions:
    """Whether a folder or file met in a walk is left alone.

    A pattern (shell-style: `*`, `?`, `[...]`, case does not matter) is matched against each name; one with a
    `/` in it against the path below the folder being walked (`2019/rejects`, `*/tmp`), or, starting with `/`,
    against the whole path.
    """

    def __init__(self, patterns: Iterable[str] = (), defaults: bool = True):
        chosen = [*(LEFT_ALONE if defaults else ()), *patterns]
        self.patterns = tuple(dict.fromkeys(pattern.strip().rstrip("/") or "/" for pattern in chosen))
        self._names = [p.casefold() for p in self.patterns if "/" not in p]
        self._paths = [p.casefold() for p in self.patterns if "/" in p]

    def leaves_out(self, name: str, below: str, whole: str = "") -> bool:
        """Whether the folder or file `name`, at the path `below` the walked folder (and `whole`), is left alone."""
        name, below, whole = name.casefold(), below.casefold(), whole.casefold()
        if any(fnmatchcase(name, pattern) for pattern in self._names):
            return True
        return any(fnmatchcase(whole if pattern.startswith("/") else below, pattern) for pattern in self._paths)

    def leaves_out_any(self, root: str, parts: tuple[str, ...]) -> bool:
        """Whether the path `parts` below the watched folder `root` lies in (or is) something left alone."""
        for depth, part in enumerate(parts):
            below = "/".join(parts[: depth + 1])
            if self.leaves_out(part, below, f"{root.rstrip('/')}/{below}"):
                return True
        return False
