"""Write tags: read and write keywords and emotag's own record through one long-lived ExifTool process.

emotag changes only what it wrote. Its XMP namespace (`emotag.config`) records, beside each face's scores, which
values it added to each keyword field and which fields it created, so a re-run replaces only its own values and
`untag` restores every field exactly.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from emotag.config import DEFAULT_SIDECAR
from emotag.emotions import EMOTIONS
from emotag.errors import EmotagError
from emotag.photos import is_raw
from emotag.tags import HIERARCHICAL, IPTC_KEYWORDS, KEYWORD_FIELDS, SUBJECT, TAGS_LIST, merge, user_values

log = logging.getLogger("emotag")
CONFIG_FILE = Path(__file__).with_name("emotag.config")
ADDED_TAG = {
    SUBJECT: "XMP-emotag:AddedSubject",
    HIERARCHICAL: "XMP-emotag:AddedHierarchicalSubject",
    TAGS_LIST: "XMP-emotag:AddedTagsList",
    IPTC_KEYWORDS: "XMP-emotag:AddedKeywords",
}
CREATED_TAG = "XMP-emotag:CreatedFields"
CHARSET = "IPTC:CodedCharacterSet"
IPTC_VERSIONS = ("IPTC:EnvelopeRecordVersion", "IPTC:ApplicationRecordVersion")
"""ExifTool adds these to IPTC it writes into: where they were not there before, emotag made them (CreatedFields)."""
IPTC_DIGEST = "Photoshop:IPTCDigest"
CURRENT_DIGEST = "File:CurrentIPTCDigest"
SIDECAR_MADE = "Sidecar"
"""In CreatedFields: emotag made this sidecar, so `untag` removes it again when nothing else is left in it."""
EXIFTOOL_TMP = "_exiftool_tmp"
NAME_MAX = 255
OWN_TAGS = (
    "ModelVersion",
    "AnalysisDate",
    "MinConfidence",
    "Thresholds",
    "EyesVersion",
    "Emotions",
    "Labels",
    "Rejected",
    "FaceSettings",
    "Faces",
    *(t.split(":")[1] for t in ADDED_TAG.values()),
    "CreatedFields",
)
IPTC_FORMATS = frozenset({".jpg", ".jpeg", ".jpe", ".tif", ".tiff", ".dng"})
EMBEDDED_RAW = frozenset({".dng"})
EMPTY_XMP = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
    ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
    " </rdf:RDF>\n"
    "</x:xmpmeta>\n"
    '<?xpacket end="w"?>\n'
)


EXIFTOOL_MISSING = (
    "ExifTool is not installed: apt install libimage-exiftool-perl (Debian, Ubuntu), "
    "brew install exiftool (macOS), or see https://exiftool.org"
)


class MetadataError(EmotagError):
    """ExifTool could not read or write a file's metadata; the message says why, for a person."""


@dataclass
class TagRecord:
    """What emotag knows of a photo from its metadata: the keyword fields and emotag's own record."""

    fields: dict[str, list[str]] = field(default_factory=dict)  # present keyword fields only
    added: dict[str, list[str]] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    model_version: str | None = None
    emotions: list[str] = field(default_factory=list)
    faces: list[dict] = field(default_factory=list)
    charset: str | None = None  # IPTC:CodedCharacterSet as found
    thresholds: str | None = None  # the decision's thresholds, as `tags.thresholds_text` writes them
    eyes_version: str | None = None  # the eye reading that read the faces' eyes; None: written before eyes
    latin1_iptc: bool = False  # IPTC in a character set other than UTF-8 (declared, or undeclared with text
    # beyond ASCII): ExifTool reads and writes it as Latin-1, and it is written back so
    broken_xmp: bool = False  # ExifTool found XMP it cannot parse: writing would drop the user's XMP
    inexact: str | None = None  # a keyword ExifTool's JSON cannot give back exactly: writing would change it
    labels: list[str] = field(default_factory=list)  # the label each of `emotions` was written as
    rejected: list[str] = field(default_factory=list)  # emotions whose keyword the user took away
    face_settings: str | None = None  # the settings that decided which faces were found and read
    iptc: set[str] = field(default_factory=set)  # the IPTC tags present
    digest_in_step: bool = False  # Adobe's IPTCDigest is there and matches the IPTC: it is kept so
    empty_xmp: list[str] | None = None  # XMP tags holding nothing, where looked for (`read(..., to_write=True)`)

    @property
    def tagged(self) -> bool:
        return self.model_version is not None


def metadata_target(photo: Path, sidecar_style: str = DEFAULT_SIDECAR, always: bool = False) -> Path:
    """The file that holds a photo's tags: the photo itself, or for raw files (but DNG) an XMP sidecar.

    darktable and digiKam name sidecars `IMG_1.CR2.xmp`, Lightroom `IMG_1.xmp`; an existing Lightroom sidecar is
    updated whatever the style, so a Lightroom user's own sidecar stays the one that counts. With `always`, every
    photo that would carry its tags inside gets a sidecar instead, named `IMG_1.JPG.xmp` whatever the style: the
    JPEG of a raw+JPEG pair must not share `IMG_1.xmp` with its raw file.
    """
    embedded = not is_raw(photo) or photo.suffix.lower() in EMBEDDED_RAW
    if always and embedded:
        return through_link(photo.with_name(photo.name + ".xmp"))
    if embedded:
        return through_link(photo)
    lightroom = photo.with_suffix(".xmp")
    if sidecar_style == "lightroom" or lightroom.is_file():
        return through_link(lightroom)
    return through_link(photo.with_name(photo.name + ".xmp"))


def through_link(path: Path) -> Path:
    """The file a symbolic link points to: ExifTool would replace the link itself with a tagged copy."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def as_list(value) -> list[str]:
    """ExifTool gives a one-item list as a plain value: always return a list of strings."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def safe_argument(path: Path) -> bytes:
    """A path as ExifTool argument: absolute, so it never starts with '-', on one line, and never a folder
    (ExifTool would read and write every file in it). As the file system's bytes: a name from an old archive
    need not be valid UTF-8."""
    name = os.fsencode(path.absolute())
    if b"\n" in name or b"\r" in name:
        raise MetadataError("file name contains a line break, which ExifTool's argument stream cannot carry")
    if path.is_dir():
        raise MetadataError("is a folder where a file was expected; nothing written")
    return name


class Metadata:
    """One ExifTool process, kept open for many photos (5 ms a write instead of 170 ms)."""

    def __init__(self, keep_mtime: bool = False):
        import exiftool

        from emotag import stayopen

        stayopen.install()
        if shutil.which("exiftool") is None:
            raise MetadataError(EXIFTOOL_MISSING)
        self.keep_mtime = keep_mtime
        self._tool = exiftool.ExifTool(common_args=["-G1", "-n", "-struct"], config_file=str(CONFIG_FILE))
        self._tool.run()
        self.deaths = 0  # how often ExifTool died under a command
        self.stderr = ""  # what ExifTool said on its error stream during the last command

    def close(self) -> None:
        if self._alive():
            self._tool.terminate()

    def _alive(self) -> bool:
        with warnings.catch_warnings():  # pyexiftool warns when it finds its process dead: we say it ourselves
            warnings.simplefilter("ignore")
            return self._tool.running

    def __enter__(self) -> Metadata:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _run(self, *args: str | bytes) -> str:
        """Run one ExifTool command. If ExifTool died, a new one is started; a read is then tried again (a write
        is the caller's to try again, once it has removed what the dead one left: see `deaths`)."""
        try:
            output = self._execute(args)
        except MetadataError:
            if args[0] != "-j":
                raise
            output = self._execute(args)
        if self._tool.last_status:
            why = _first_error(self.stderr) or in_plain_words(_json_warning(output))
            raise MetadataError(why or "ExifTool failed")
        return output

    def _execute(self, args: tuple[str | bytes, ...]) -> str:
        """ExifTool's answer as text; its messages may quote a file name that is not UTF-8, so bytes that are not
        UTF-8 become '\ufffd' instead of stopping the decoding (its JSON is always UTF-8)."""
        try:
            if not self._alive():  # ExifTool died: start a new one rather than stopping the whole run
                log.warning("ExifTool stopped unexpectedly; starting it again")
                self._tool.run()
            output = self._tool.execute(*args, raw_bytes=True)
            self.stderr = (self._tool.last_stderr or b"").decode("utf-8", "replace")
            return output.decode("utf-8", "replace")
        except Exception as error:  # pyexiftool raises several kinds when the process dies
            self.deaths += 1
            self._tool.terminate() if self._alive() else None
            raise MetadataError(f"ExifTool stopped unexpectedly ({error})") from None

    def read(self, target: Path, to_write: bool = False) -> TagRecord:
        """The keyword fields and emotag's record of one file; an empty record for a sidecar not yet made.
        `to_write`: the file is about to be written, so its empty XMP values are looked for in the same call."""
        if not target.exists() and is_sidecar(target):
            return TagRecord()
        fields = [f"-{name}" for name in KEYWORD_FIELDS] + ["-XMP-emotag:all", "-IPTC:all", "-ExifTool:Warning"]
        fields += [f"-{IPTC_DIGEST}", f"-{CURRENT_DIGEST}"]
        sidecar = is_sidecar(target)
        whole_xmp = sidecar or to_write
        output = self._run("-j", "-b", *fields, *(["-XMP:all"] if whole_xmp else []), safe_argument(target))
        try:
            data = exact_json(output)[0]
        except (ValueError, IndexError):
            raise MetadataError("ExifTool could not read the metadata") from None
        charset = _charset(data.get(CHARSET))
        return TagRecord(
            fields={name: as_list(data[name]) for name in KEYWORD_FIELDS if name in data},
            added={name: as_list(data.get(tag)) for name, tag in ADDED_TAG.items()},
            created=as_list(data.get(CREATED_TAG)),
            model_version=str(data["XMP-emotag:ModelVersion"]) if "XMP-emotag:ModelVersion" in data else None,
            emotions=as_list(data.get("XMP-emotag:Emotions")),
            faces=_faces(data.get("XMP-emotag:Faces")),
            charset=charset,
            thresholds=str(data["XMP-emotag:Thresholds"]) if "XMP-emotag:Thresholds" in data else None,
            eyes_version=str(data["XMP-emotag:EyesVersion"]) if "XMP-emotag:EyesVersion" in data else None,
            latin1_iptc=charset not in (None, "UTF8")
            or (charset is None and any(not str(v).isascii() for k, v in data.items() if k[:5] == "IPTC:")),
            broken_xmp="XMP format error" in str(data.get("ExifTool:Warning", ""))
            or (sidecar and _unreadable(target, data)),
            inexact=_inexact_keyword(data),
            labels=as_list(data.get("XMP-emotag:Labels")),
            rejected=as_list(data.get("XMP-emotag:Rejected")),
            face_settings=str(data["XMP-emotag:FaceSettings"]) if "XMP-emotag:FaceSettings" in data else None,
            iptc={key for key in data if key.startswith("IPTC:")},
            digest_in_step=IPTC_DIGEST in data and str(data[IPTC_DIGEST]) == str(data.get(CURRENT_DIGEST)),
            empty_xmp=empty_values(data) if whole_xmp else None,
        )

    def write(self, target: Path, record: TagRecord, ours: dict[str, list[str]], own: dict) -> None:
        """Put emotag's keywords (`ours`) and record (`own`) into `target`, keeping every value the user set."""
        if record.broken_xmp:
            raise MetadataError("its XMP metadata is not well-formed; left unchanged so none of it is lost")
        check_exact(record)
        ours = writable(record, ours)
        arguments = []
        created = list(record.created)
        if is_sidecar(target) and not target.exists():
            created.append(SIDECAR_MADE)
        for name in supported_fields(target):
            current = record.fields.get(name)
            new, added = merge(current, record.added.get(name, []), ours.get(name, []))
            if name == IPTC_KEYWORDS:
                check_iptc_lengths(new, "latin-1" if record.latin1_iptc else "utf-8")
            if current is None and added and name not in created:
                created.append(name)
            arguments += list_arguments(name, new)
            arguments += list_arguments(ADDED_TAG[name], added)
        iptc = IPTC_KEYWORDS in supported_fields(target)
        if ours.get(IPTC_KEYWORDS) and iptc and record.charset != "UTF8" and not record.latin1_iptc:
            # IPTC text is Latin-1 unless declared: declare UTF-8 so any label survives, and remember doing so
            if record.charset is None and CHARSET not in created:
                created.append(CHARSET)
            arguments.append(f"-{CHARSET}=UTF8")
        if iptc and ours.get(IPTC_KEYWORDS):  # ExifTool adds the IPTC versions it finds missing
            created += [name for name in IPTC_VERSIONS if name not in record.iptc and name not in created]
        if iptc:
            arguments += digest_arguments(record)
        arguments += list_arguments(CREATED_TAG, created)
        arguments += own_arguments(own)
        self._write(target, arguments, record.empty_xmp)

    def untag(self, target: Path, record: TagRecord) -> None:
        """Restore every keyword field to what it held before emotag, and remove emotag's record."""
        if not target.exists():
            return
        check_exact(record)
        arguments = []
        for name in supported_fields(target):
            if name not in record.fields:
                continue
            before = user_values(record.fields[name], record.added.get(name, []))
            arguments += list_arguments(name, before)
        arguments += [f"-{name}=" for name in (CHARSET, *IPTC_VERSIONS) if name in record.created]
        if IPTC_KEYWORDS in supported_fields(target):
            arguments += digest_arguments(record)
        arguments += [f"-XMP-emotag:{tag}=" for tag in OWN_TAGS]
        self._write(target, arguments, record.empty_xmp)
        if SIDECAR_MADE in record.created and not self._holds_xmp(target):
            target.unlink()

    def _holds_xmp(self, sidecar: Path) -> bool:
        """Whether a sidecar holds any XMP beside the name of the tool that last wrote it."""
        data = exact_json(self._run("-j", "-XMP:all", safe_argument(sidecar)))[0]
        return any(key.startswith("XMP-") and key != "XMP-x:XMPToolkit" for key in data)

    def _write(self, target: Path, arguments: list[str], empty: list[str] | None = None) -> None:
        if target.exists() and not target.stat().st_mode & 0o222:
            raise MetadataError("read-only; left unchanged")
        if not target.exists() and is_sidecar(target):
            create_sidecar(target)
        if empty is None:  # not looked for when the file was read: look now
            empty = self._empty_xmp(target) if target.exists() else []
        self._write_once(target, arguments)
        if empty:
            try:
                self._write_once(target, [f"-{name}^=" for name in empty])
            except MetadataError as error:
                log.warning("%s: an empty XMP value ExifTool dropped could not be put back (%s)", target, error)

    def _empty_xmp(self, target: Path) -> list[str]:
        try:
            return empty_values(exact_json(self._run("-j", "-XMP:all", safe_argument(target)))[0])
        except (ValueError, IndexError):
            return []

    def _write_once(self, target: Path, arguments: list[str]) -> None:
        keep = ["-P"] if self.keep_mtime else []
        if len(os.fsencode(target.name + EXIFTOOL_TMP)) > NAME_MAX:
            self._write_via_copy(target, keep, arguments)
            return
        output = self._run("-overwrite_original", *keep, *arguments, safe_argument(target))
        if "1 image files updated" not in output and "1 image files unchanged" not in output:
            raise MetadataError(_first_error(self.stderr or output) or "ExifTool did not write the file")

    def _write_via_copy(self, target: Path, keep: list[str], arguments: list[str]) -> None:
        """For a name too long to take ExifTool's `_exiftool_tmp` suffix: ExifTool writes a short-named copy,
        which is renamed over the original (atomic, as ExifTool's own way is)."""
        temporary = short_temporary(target)
        temporary.unlink(missing_ok=True)
        output = self._run(*keep, *arguments, "-o", safe_argument(temporary), safe_argument(target))
        if "1 image files created" not in output:
            temporary.unlink(missing_ok=True)
            raise MetadataError(_first_error(self.stderr or output) or "ExifTool did not write the file")
        shutil.copymode(target, temporary)
        os.replace(temporary, target)

    def preview(self, raw: Path) -> tuple[bytes, int | None]:
        """The largest JPEG preview a raw file embeds, and the raw's orientation."""
        orientation = None
        data = json.loads(self._run("-j", "-IFD0:Orientation", safe_argument(raw)) or "[{}]")
        if data and "IFD0:Orientation" in data[0]:
            orientation = int(data[0]["IFD0:Orientation"])
        for tag in ("JpgFromRaw", "PreviewImage", "OtherImage", "ThumbnailImage"):
            image = self._tool.execute("-b", f"-{tag}", safe_argument(raw), raw_bytes=True)
            if image[:2] == b"\xff\xd8":
                return image, orientation
        return b"", orientation


def empty_values(data: dict) -> list[str]:
    """The XMP tags that hold nothing (`<dc:creator><rdf:Seq/></dc:creator>`, an empty language alternative, as
    some programs leave them). ExifTool drops such lists whenever it rewrites the XMP; emotag puts each back
    afterwards as holding one empty value, which readers (ExifTool's `-a -G1` listing included) show the same."""
    return [
        key
        for key, value in data.items()
        if key.startswith("XMP-") and not key.startswith(("XMP-emotag:", "XMP-x:")) and value in ("", [], [""])
    ]


def digest_arguments(record: TagRecord) -> list[str]:
    """Adobe's IPTCDigest, where it was in step with the IPTC, is brought in step with the IPTC as written: emotag
    writes its keywords into IPTC and XMP alike, so Lightroom and Bridge may go on trusting both. A digest that was
    already out of step, or none, is left so: that says something about the user's other fields."""
    return [f"-{IPTC_DIGEST}=new"] if record.digest_in_step else []


def writable(record: TagRecord, ours: dict[str, list[str]]) -> dict[str, list[str]]:
    """emotag's keywords as they can be written into this file: in Latin-1 IPTC, only those Latin-1 can spell
    (declaring UTF-8 would garble the user's other IPTC fields)."""
    if not record.latin1_iptc:
        return ours
    return {**ours, IPTC_KEYWORDS: [v for v in ours.get(IPTC_KEYWORDS, []) if _latin1(v)]}


def is_sidecar(target: Path) -> bool:
    return target.suffix.lower() == ".xmp"


def supported_fields(target: Path) -> tuple[str, ...]:
    """The keyword fields the file's format can hold: IPTC only in JPEG and TIFF-based files."""
    if target.suffix.lower() in IPTC_FORMATS:
        return KEYWORD_FIELDS
    return tuple(name for name in KEYWORD_FIELDS if name != IPTC_KEYWORDS)


def list_arguments(name: str, values: list[str]) -> list[str]:
    """ExifTool arguments that set a list tag to exactly `values`, in order; no values deletes the tag.

    Each argument is one line of ExifTool's argument stream, which drops one space after '=': the space put
    there keeps a value's own leading space. A line break would start a new argument (another option, another
    file) and an empty value would delete the values before it, so such a value stops the write instead.
    """
    for value in values:
        if not value or "\n" in value or "\r" in value:
            raise MetadataError(f"has a keyword ExifTool cannot write back unchanged ({value!r}); left unchanged")
    return [f"-{name}="] + [f"-{name}= {value}" for value in values]


def check_exact(record: TagRecord) -> None:
    """Stop before a write that would change a keyword the user set, because ExifTool read it inexactly."""
    if record.inexact:
        raise MetadataError(f"has a keyword ExifTool cannot read back exactly ({record.inexact}); left unchanged")


IPTC_KEYWORD_BYTES = 64
"""IPTC's limit for one keyword: ExifTool cuts a longer one when it rewrites the list."""


def check_iptc_lengths(values: list[str], encoding: str) -> None:
    for value in values:
        if len(value.encode(encoding, errors="replace")) > IPTC_KEYWORD_BYTES:
            raise MetadataError(
                f"has an IPTC keyword longer than IPTC allows ({value[:20]!r}...), which ExifTool would cut; "
                "left unchanged"
            )


def exact_json(output: str):
    """ExifTool's JSON with every number kept as the text it printed: a keyword "1.50" must stay "1.50"."""
    return json.loads(output, parse_float=str, parse_int=str)


def _inexact_keyword(data: dict) -> str | None:
    """A keyword ExifTool's JSON changed: "True" or "FALSE" it prints as a JSON boolean, and bytes that are not
    UTF-8 (which `-b` makes it print as base64 rather than replace with '?')."""
    for name in (*KEYWORD_FIELDS, *ADDED_TAG.values()):
        value = data.get(name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, bool):
                return f"{name}: true or false, whose capitals ExifTool does not give"
            if isinstance(item, str) and item.startswith("base64:"):
                return f"{name}: not valid UTF-8"
    return None


def own_arguments(own: dict) -> list[str]:
    """Arguments for emotag's record: model version, date, threshold, emotions, and every face."""
    now = datetime.now(timezone.utc).strftime("%Y:%m:%d %H:%M:%S+00:00")
    faces = ",".join(_face_struct(face) for face in own["faces"])
    return [
        f"-XMP-emotag:ModelVersion={own['model_version']}",
        f"-XMP-emotag:AnalysisDate={now}",
        "-XMP-emotag:MinConfidence=",  # written before thresholds per emotion: one for all, now replaced
        f"-XMP-emotag:Thresholds={own['thresholds']}",
        f"-XMP-emotag:EyesVersion={own.get('eyes_version') or ''}",
        *list_arguments("XMP-emotag:Emotions", own["emotions"]),
        *list_arguments("XMP-emotag:Labels", own.get("labels", [])),
        *list_arguments("XMP-emotag:Rejected", own.get("rejected", [])),
        f"-XMP-emotag:FaceSettings={own.get('face_settings', '')}",
        "-XMP-emotag:Faces=",
        *([f"-XMP-emotag:Faces=[{faces}]"] if own["faces"] else []),
    ]


def _face_struct(face: dict) -> str:
    """One face in ExifTool's structure syntax (a Python dict would silently write an empty one)."""
    x, y, w, h = face["box_normalised"]
    scores = ",".join(f"{e.capitalize()}={face['scores'][e]:.4f}" for e in EMOTIONS)
    eyes = ""
    if "eyes" in face:
        eyes = f",Eyes={face['eyes'] or 'unknown'}"
        eyes += f",EyesClosed={face['eyes_closed']:.4f}" if face.get("eyes_closed") is not None else ""
    return (
        f"{{X={x:.4f},Y={y:.4f},W={w:.4f},H={h:.4f},Emotion={face['emotion']},"
        f"Confidence={face['confidence']:.4f},{scores}{eyes}}}"
    )


def _faces(value) -> list[dict]:
    if not value:
        return []
    faces = value if isinstance(value, list) else [value]
    return [face for face in faces if isinstance(face, dict)]


def _charset(value) -> str | None:
    """IPTC's declared character set, "UTF8" for the ISO 2022 escape ExifTool shows with -n."""
    if value is None:
        return None
    return "UTF8" if str(value) in ("UTF8", "\x1b%G") else str(value)


def _unreadable(sidecar: Path, data: dict) -> bool:
    """A sidecar in which ExifTool finds no XMP at all, and which is not the empty one emotag starts from."""
    if any(key.startswith("XMP-") for key in data):
        return False
    try:
        return sidecar.read_text(encoding="utf-8", errors="replace").strip() != EMPTY_XMP.strip()
    except OSError:
        return True


def _latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _json_warning(output: str) -> str:
    """The warning ExifTool put in its JSON answer (where it says why it could not read a file)."""
    try:
        return str(json.loads(output)[0].get("ExifTool:Warning", ""))
    except (ValueError, IndexError, AttributeError):
        return ""


def _first_error(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("Error"):
            return in_plain_words(line.split(" - ")[0].removeprefix("Error: ").strip())
    return in_plain_words(text.strip().splitlines()[0]) if text.strip() else ""


PLAIN_WORDS = (
    (r"File is empty", "the file is empty (0 bytes)"),
    (
        r"Not a valid (\w+) \(looks more like an? (\w+)\)",
        r"not a \1 file, though its name says so: it looks like a \2 (rename it to its real type)",
    ),
    (r"Not a valid (\w+)", r"not a valid \1 file: damaged, or another format than its name says"),
    (r"File format error", "its contents are damaged, or it is not a photo at all"),
    (r"Unknown file type", "its contents are not a photo format emotag knows"),
    (r"XMP format error", "its XMP metadata is not well-formed; left unchanged so none of it is lost"),
    (r"(Can't currently write|Writing of .* not)", "emotag cannot write keywords into this kind of file"),
    (r"(File not found|Error opening file)", "file vanished or cannot be opened"),
    (r"Error (renaming|creating|writing)", "cannot write beside it (a full disk, or no permission on its folder)"),
    (r"(Truncated|Corrupted)", "the file is damaged: it stops short"),
)
"""ExifTool's messages as a photographer reads them (its own words go to the log, `emotag -v`)."""


def in_plain_words(message: str) -> str:
    """ExifTool's message for a person: a known one in plain words, another as ExifTool said it."""
    import re

    for pattern, words in PLAIN_WORDS:
        found = re.match(pattern, message)
        if found:
            log.info("ExifTool said: %s", message)
            return found.expand(words)
    return message


def short_temporary(target: Path) -> Path:
    """Where a file with a very long name is written before it is renamed over the original (hidden, short)."""
    digest = hashlib.sha1(os.fsencode(target.name)).hexdigest()[:16]
    return target.with_name(f".{digest}.emotag-tmp{target.suffix[:8]}")


def leftovers(target: Path) -> list[Path]:
    """The temporary files a killed write of `target` may have left behind."""
    return [target.with_name(target.name + EXIFTOOL_TMP), short_temporary(target), sidecar_temporary(target)]


def create_sidecar(path: Path) -> None:
    """An empty XMP sidecar, written atomically (a temporary file renamed into place)."""
    temporary = sidecar_temporary(path)
    try:
        temporary.write_text(EMPTY_XMP, encoding="utf-8")
        temporary.replace(path)
    except OSError:
        temporary.unlink(missing_ok=True)  # a full disk: leave nothing half-made behind
        raise


def sidecar_temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.emotag-tmp")
