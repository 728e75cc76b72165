"""The ExifTool transport: one long-lived ExifTool process, the arguments it is sent, and its answers in words.

A write costs 5 ms through the kept-open process instead of 170 ms for a new one. Everything ExifTool is sent goes
through here: file names as absolute paths on one line, list values that survive its argument stream, and its
messages turned into words a photographer reads.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import warnings
from pathlib import Path

from emotag.errors import EmotagError

log = logging.getLogger("emotag")
CONFIG_FILE = Path(__file__).with_name("emotag.config")
EXIFTOOL_TMP = "_exiftool_tmp"
NAME_MAX = 255
EXIFTOOL_MISSING = (
    "ExifTool is not installed: apt install libimage-exiftool-perl (Debian, Ubuntu), "
    "brew install exiftool (macOS), or see https://exiftool.org"
)


class MetadataError(EmotagError):
    """ExifTool could not read or write a file's metadata; the message says why, for a person."""


class ExifToolProcess:
    """One ExifTool process, kept open for many photos, started again if it dies."""

    def __init__(self, keep_mtime: bool = False):
        import exiftool as pyexiftool

        from emotag import stayopen

        stayopen.install()
        if shutil.which("exiftool") is None:
            raise MetadataError(EXIFTOOL_MISSING)
        self.keep_mtime = keep_mtime
        self._tool = pyexiftool.ExifTool(common_args=["-G1", "-n", "-struct"], config_file=str(CONFIG_FILE))
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

    def __enter__(self):
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


def as_list(value) -> list[str]:
    """ExifTool gives a one-item list as a plain value: always return a list of strings."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def exact_json(output: str):
    """ExifTool's JSON with every number kept as the text it printed: a keyword "1.50" must stay "1.50"."""
    return json.loads(output, parse_float=str, parse_int=str)


def short_temporary(target: Path) -> Path:
    """Where a file with a very long name is written before it is renamed over the original (hidden, short)."""
    digest = hashlib.sha1(os.fsencode(target.name)).hexdigest()[:16]
    return target.with_name(f".{digest}.emotag-tmp{target.suffix[:8]}")


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
    for pattern, words in PLAIN_WORDS:
        found = re.match(pattern, message)
        if found:
            log.info("ExifTool said: %s", message)
            return found.expand(words)
    return message
