"""The `emotag` command: a thin layer over the pipeline. Errors for people on stderr, `--json` for programs."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import tempfile
import time
from collections import Counter
from contextlib import closing, contextmanager
from pathlib import Path

import click

from emotag.emotions import EMOTIONS
from emotag.words import counted

log = logging.getLogger("emotag")
CONFIG_ERROR = 2
"""The exit status of a configuration file emotag cannot use (as of a misused command: nothing was done)."""
LISTS = ("exclude", "leave_out")
"""Settings the command line adds to, rather than replaces."""


class Emotag(click.Group):
    """The `emotag` group: a misused command is one line on stderr and exit status 2 (click's usage block, with
    its blank lines and "Try ... for help", does not fit the rule of one line per problem)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            status = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as error:
            if isinstance(error, getattr(click.exceptions, "NoArgsIsHelpError", ())):
                error.show()  # `emotag` alone: the help, as asked
                sys.exit(error.exit_code)
            command = error.ctx.command_path if error.ctx else "emotag"
            click.echo(f"{command}: {error.format_message()} (see '{command} --help')", err=True)
            sys.exit(error.exit_code)
        except click.ClickException as error:
            error.show()
            sys.exit(error.exit_code)
        except click.Abort:
            sys.exit(130)
        sys.exit(status if isinstance(status, int) else 0)


def _settings(ctx: click.Context, **overrides):
    """The user's configuration with the command line's options laid over it."""
    from emotag.config import ConfigError, check, load_config
    from emotag.pipeline import Settings
    from emotag.tags import TagScheme

    try:
        config = load_config()
        for key, value in overrides.items():
            if key in LISTS and value:
                setattr(config, key, [*getattr(config, key), *value])
            elif value is not None and key not in LISTS and hasattr(config, key):
                setattr(config, key, value)
        check(config, "command line")
    except ConfigError as error:
        config_error(error)
    settings = Settings(
        min_confidence=config.min_confidence,
        thresholds=dict(config.thresholds),
        scheme=TagScheme(
            config.root,
            dict(config.labels),
            frozenset(e.lower() for e in config.leave_out),
            config.flat,
            config.eyes_closed,
        ),
        sidecar=config.sidecar,
        max_side=config.max_side,
        min_face=config.min_face,
        keep_mtime=config.keep_mtime,
        force=bool(overrides.get("force")),
        dry_run=bool(overrides.get("dry_run")),
        sidecar_always=config.sidecar_always,
        exclude=tuple(config.exclude),
    )
    return settings, config


def config_error(error: Exception) -> None:
    """A configuration emotag cannot use: one line naming the file and the setting (not a usage message: the
    command line was right)."""
    click.echo(f"emotag: {error}", err=True)
    sys.exit(CONFIG_ERROR)


def _photos(paths: tuple[Path, ...], settings=None, stop=None) -> list[Path]:
    from emotag.discovery import find_photos

    photos = []
    for photo in find_photos(paths, settings.exclusions() if settings else None):
        if stop:
            break  # a stop signal while a large archive is listed
        photos.append(photo)
    return photos


def shown(path) -> str:
    """A path for a one-line message: line breaks and other control characters escaped."""
    text = str(path)
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


def as_stored(text: str, path) -> bytes:
    """A line that ends with a file name, the name's bytes as the file system stores them: a terminal shows it as
    stored, and a name that is not UTF-8 cannot stop the output."""
    return text.encode("utf-8") + os.fsencode(path)


def _fail_early(error: Exception) -> None:
    """Errors that stop everything (no ExifTool, no model): one line, exit 1."""
    click.echo(f"emotag: {error}", err=True)
    sys.exit(1)


def _progress(total: int, quiet: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="photo", disable=quiet or not sys.stderr.isatty(), file=sys.stderr, leave=False)


def _show_version(ctx: click.Context, param, value: bool) -> None:
    """`emotag --version`: emotag's version and the expression model's, read from the model card it would load."""
    if not value or ctx.resilient_parsing:
        return
    from emotag import __version__
    from emotag.expressions import ModelError, model_version

    try:
        click.echo(f"emotag {__version__}, expression model {model_version()}")
    except ModelError as error:
        click.echo(f"emotag {__version__}, no expression model: {error}")
        ctx.exit(1)
    ctx.exit(0)


@click.group(cls=Emotag, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_version,
    help="Show emotag's version and the expression model's, and exit.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log what happens to stderr.")
def main(verbose: bool) -> None:
    """Read the expressions on the faces in photos and write them as keywords photo managers search."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="emotag: %(message)s")
    if verbose:
        os.environ["EMOTAG_VERBOSE"] = "1"  # worker processes log as this one does


sidecar_option = click.option(
    "--sidecar",
    type=click.Choice(["darktable", "lightroom"]),  # metadata.SIDECAR_STYLES (not imported: --help stays fast)
    show_default="sidecar in the config, else darktable",
    help="Sidecar name for raw files: IMG.CR2.xmp (darktable, digiKam) or IMG.xmp (Lightroom).",
)
exclude_option = click.option(
    "--exclude",
    metavar="PATTERN",
    multiple=True,
    show_default="exclude in the config, and NAS and photo-manager folders (README)",
    help="Leave alone folders and files whose name matches PATTERN (*, ?; a/b for a path), again for more.",
)


def tagging_options(command):
    """The options `tag` and `watch` share, spelt the same in both (osxphotos' option bundles)."""
    options = [
        click.option("--dry-run", is_flag=True, help="Read the faces and show the tags, but write nothing."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object per photo (JSON Lines)."),
        click.option("--force", is_flag=True, help="Read photos again and decide anew, forgetting your corrections."),
        click.option(
            "--jobs",
            type=click.IntRange(min=0),
            show_default="jobs in the config, else one per core",
            help="Worker processes (0: one per core).",
        ),
        click.option(
            "--min-confidence",
            type=click.FloatRange(0, 1),
            show_default="min_confidence in the config, else each emotion's own: [thresholds], the model's",
            help="Tag every emotion from this confidence on.",
        ),
        sidecar_option,
        click.option(
            "--sidecar-always",
            is_flag=True,
            default=None,
            show_default="sidecar_always in the config, else off",
            help="Write an XMP sidecar (IMG.JPG.xmp) for JPEG, TIFF, PNG and HEIC too: originals are never modified.",
        ),
        click.option(
            "--keep-mtime",
            is_flag=True,
            default=None,
            show_default="keep_mtime in the config, else off",
            help="Leave files' modification times as they were.",
        ),
        click.option(
            "--leave-out",
            type=click.Choice(EMOTIONS, case_sensitive=False),
            multiple=True,
            show_default="leave_out in [tags] of the config, else none",
            help="An emotion never to write as a keyword (again for more: --leave-out neutral --leave-out fear).",
        ),
        click.option(
            "--flat",
            is_flag=True,
            default=None,
            show_default="flat in [tags] of the config, else off",
            help="Write keywords alone (Happy), without the root above them (Emotion|Happy).",
        ),
        exclude_option,
    ]
    for option in reversed(options):
        command = option(command)
    return command


class ExistingPath(click.Path):
    """A path that is there (a symbolic link to nowhere counts: emotag names it in its own line). A mistyped one is
    a usage error, found before any work starts."""

    def __init__(self) -> None:
        super().__init__(path_type=Path, readable=False)  # unreadable ones are named by emotag, one line each

    def convert(self, value, param, ctx):
        path = super().convert(value, param, ctx)
        if not os.path.lexists(path):
            self.fail(f"{shown(path)}: no such file or folder", param, ctx)
        return path


paths_argument = click.argument("paths", nargs=-1, required=True, type=ExistingPath())


def _check_cluster(ctx, param, value: str | None) -> str | None:
    """A malformed --cluster, or one without Dask installed, is a usage error before any photo is looked at."""
    if value is None:
        return None
    try:
        from emotag.cluster import parse_cluster
    except ImportError as error:
        raise click.BadParameter(f"needs Dask ({error}): pip install 'emotag[cluster]'") from None
    try:
        parse_cluster(value)
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    return value


@contextmanager
def _results(photos: list[Path], settings, jobs: int, cluster: str | None, stop):
    """The results of tagging `photos`: in worker processes here, or on a Dask cluster (Dask imported only then)."""
    if not cluster:
        from emotag.batch import tag_photos

        with closing(tag_photos(photos, settings, jobs, stop)) as results:
            yield results
        return
    from emotag.cluster import ClusterUnreachable, connect, tag_on_cluster

    try:
        with connect(cluster) as client, closing(tag_on_cluster(client, photos, settings, stop)) as results:
            yield results
    except ClusterUnreachable as error:
        click.echo(f"emotag: {error}", err=True)
        sys.exit(2)


class StopNow(BaseException):
    """A second stop signal: the run stops at once (a BaseException, like KeyboardInterrupt, so that no "one
    photo's failure" handler takes it for a photo's error)."""


class StopSignals:
    """SIGTERM and SIGINT (Ctrl-C) while `tag` runs: the first finishes the photos in hand, then the summary says
    what was done; a second stops the workers at once. The exit status is then 128 + the signal's number."""

    def __init__(self) -> None:
        from emotag.batch import Stop

        self.stop = Stop()
        self.number: int | None = None

    def __enter__(self) -> StopSignals:
        self._before = {number: signal.signal(number, self._on_signal) for number in (signal.SIGTERM, signal.SIGINT)}
        return self

    def __exit__(self, *exc) -> None:
        for number, handler in self._before.items():
            signal.signal(number, handler)

    def _on_signal(self, number, frame) -> None:
        if self.stop:
            raise StopNow()
        self.stop.requested = True
        self.number = number

    @property
    def name(self) -> str:
        return "Ctrl-C" if self.number == signal.SIGINT else signal.Signals(self.number).name


@main.command()
@paths_argument
@tagging_options
@click.option(
    "--cluster",
    callback=_check_cluster,
    metavar="ADDRESS",
    show_default="none: on this machine",
    help="Tag on a Dask cluster: a scheduler's address (tcp://host:8786), or local:N for N local workers.",
)
@click.pass_context
def tag(ctx, paths, dry_run, as_json, force, jobs, min_confidence, sidecar, cluster, **choices):
    """Tag the photos in PATHS (files or folders, recursive) with the emotions on their faces.

    Stop with Ctrl-C or SIGTERM: the photos in hand are finished and the summary printed (exit status 130 or 143);
    the same command later does what is left."""
    from emotag.batch import default_jobs
    from emotag.exiftool import MetadataError
    from emotag.expressions import ModelError

    if cluster and jobs:
        raise click.UsageError("--jobs counts local workers; with --cluster the cluster's workers do the work")
    settings, config = _settings(
        ctx, force=force, dry_run=dry_run, min_confidence=min_confidence, sidecar=sidecar, **choices
    )
    jobs = jobs if jobs else (config.jobs or default_jobs())
    counts: Counter = Counter()
    changes: Counter = Counter()  # emotag's tags added and removed
    faces = 0
    started = time.monotonic()
    with StopSignals() as signals:
        photos = _photos(paths, settings, signals.stop)
        try:
            with (
                _results(photos, settings, jobs, cluster, signals.stop) as results,
                _progress(len(photos), quiet=False) as bar,
            ):
                for result in results:
                    counts[result.status] += 1
                    changes["added"] += len(result.added)
                    changes["removed"] += len(result.removed)
                    faces += len(result.faces)
                    bar.update()
                    if as_json:
                        click.echo(json.dumps(result.to_json()))
                    elif dry_run and (result.added or result.removed):
                        bar.clear()
                        click.echo(f"{shown(result.path)}: {_would_change(result)}")
                    if result.status == "error":
                        bar.clear()
                        click.echo(f"emotag: {shown(result.path)}: {result.error}", err=True)
        except StopNow:
            pass
        except (ModelError, MetadataError, RuntimeError) as error:
            _fail_early(error)
    seconds = time.monotonic() - started
    looked = sum(counts.values())
    summary = (
        f"{counted(looked, 'photo')}, {counted(faces, 'face')}: {counts['tagged']} tagged, {_only_some(counts)}"
        f"{counts['no_faces']} no faces, {counts['skipped']} skipped (faces too small), "
        f"{counts['unchanged']} unchanged, {counted(counts['error'], 'error')}, {_tag_changes(changes, dry_run)}, "
        f"{seconds:.1f} s" + (" (dry run: nothing written)" if dry_run else "")
    )
    if signals.number is not None:
        left = f"{counted(len(photos) - looked, 'photo')} not looked at" if photos else "before listing all photos"
        summary += f"; stopped by {signals.name}, {left}: the same command does what is left"
    click.echo(summary, err=True)
    if signals.number is not None:
        sys.exit(128 + signals.number)
    sys.exit(1 if counts["error"] else 0)


def _only_some(counts: Counter) -> str:
    """The counts of what happens only now and then: photos whose tags changed, photos the user untagged."""
    said = [f"{counts['updated']} updated"] if counts["updated"] else []
    said += [f"{counts['left_untagged']} left untagged (emotag untag)"] if counts["left_untagged"] else []
    return "".join(f"{part}, " for part in said)


def _tag_changes(counts: Counter, dry_run: bool) -> str:
    """How many of emotag's tags photos gained and lost: a run that only takes tags away says so."""
    if dry_run:
        return f"{counted(counts['added'], 'tag')} would be added, {counts['removed']} would go"
    return f"{counted(counts['added'], 'tag')} added, {counts['removed']} removed"


def _would_change(result) -> str:
    said = [f"would add {', '.join(result.added)}"] if result.added else []
    said += [f"would remove {', '.join(result.removed)}"] if result.removed else []
    return "; ".join(said)


def _writable_folder(ctx, param, value: Path | None) -> Path | None:
    """An album folder (made if missing) or a contact sheet's folder (which must exist) that emotag can write in:
    checked before any photo is ranked, so a mistake costs one line at once, not a long run."""
    if value is None:
        return None
    album = param.name != "html_file"
    folder = value if album else (value.parent if str(value.parent) else Path("."))
    existing = folder
    while album and not os.path.lexists(existing) and existing.parent != existing:
        existing = existing.parent  # the album is made inside the nearest folder that exists
    if not existing.is_dir():
        raise click.BadParameter(
            f"{shown(existing)}: no such folder" if not existing.exists() else f"{shown(existing)}: not a folder"
        )
    try:
        tempfile.TemporaryFile(dir=existing).close()  # the one sure test of "may write here" (root, ACLs, mounts)
    except OSError as error:
        raise click.BadParameter(f"{shown(existing)}: cannot write there ({_describe(error)})") from None
    return value


def _describe(error: OSError) -> str:
    from emotag.causes import describe

    return describe(error)


@main.command()
@click.argument("emotion", type=click.Choice(EMOTIONS, case_sensitive=False))
@paths_argument
@click.option("-n", "count", type=click.IntRange(min=1), default=10, help="How many photos.")
@click.option(
    "--copy-to",
    type=click.Path(path_type=Path, file_okay=False),
    callback=_writable_folder,
    help="Copy the photos into this folder (made if missing).",
)
@click.option(
    "--link-to",
    type=click.Path(path_type=Path, file_okay=False),
    callback=_writable_folder,
    help="Link the photos into this folder (made if missing).",
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(path_type=Path, dir_okay=False),
    callback=_writable_folder,
    help="Write a contact sheet: thumbnails with face boxes and scores.",
)
@click.option("--json", "as_json", is_flag=True, help="Print {path, score} per photo, best first (JSON Lines).")
@click.option("--eyes-open", is_flag=True, help="Leave out photos in which a face has its eyes closed.")
@click.option(
    "--per-burst", is_flag=True, help="Keep only the best shot of each burst (shots seconds apart that look alike)."
)
@exclude_option
@click.pass_context
def top(ctx, emotion, paths, count, copy_to, link_to, html_file, as_json, eyes_open, per_burst, exclude):
    """The N photos in PATHS whose faces show EMOTION most strongly."""
    from emotag.albums import leave_out_albums
    from emotag.exiftool import MetadataError
    from emotag.picker import make_album, rank, write_contact_sheet

    if copy_to and link_to:
        raise click.UsageError("choose one of --copy-to and --link-to")
    settings, _ = _settings(ctx, exclude=exclude)
    emotion = emotion.lower()
    photos = leave_out_albums(_photos(paths, settings))  # emotag's own album copies would rank each photo twice
    try:
        with _progress(len(photos), quiet=False) as bar:
            bar.set_description("reading faces", refresh=False)
            best, errors = rank(
                photos, emotion, count, settings, looked_at=bar.update, eyes_open=eyes_open, per_burst=per_burst
            )
    except (RuntimeError, MetadataError) as error:
        _fail_early(error)
    for path, message in errors:
        click.echo(f"emotag: {shown(path)}: {message}", err=True)
    for item in best:
        if as_json:
            burst = {"burst": [str(shot.path) for shot in item.burst]} if per_burst else {}
            click.echo(json.dumps({"path": str(item.path), "score": round(item.score, 4)} | burst))
        else:
            shots = f"  (best of {len(item.burst)} shots)" if len(item.burst) > 1 else ""
            click.echo(as_stored(f"{item.score:.3f}  ", item.path) + shots.encode("utf-8"))
    if copy_to or link_to:
        try:
            problems = make_album(best, copy_to or link_to, link=bool(link_to))
        except OSError as error:
            problems = [f"{shown(copy_to or link_to)}: cannot make the album there ({_describe(error)})"]
        for problem in problems:
            click.echo(f"emotag: {problem}", err=True)
            errors.append(problem)
    if html_file:
        try:
            write_contact_sheet(best, emotion, html_file)
            click.echo(f"contact sheet: {shown(html_file)}", err=True)
        except OSError as error:
            click.echo(f"emotag: {shown(html_file)}: cannot write the contact sheet ({_describe(error)})", err=True)
            errors.append(html_file)
    sys.exit(1 if errors else 0)


@main.command()
@paths_argument
@click.option("--json", "as_json", is_flag=True, help="Print one object per folder, then the total (JSON Lines).")
@sidecar_option
@exclude_option
@click.pass_context
def report(ctx, paths, as_json, sidecar, exclude):
    """Count the photos in PATHS per folder and per tag, from emotag's tags in the photos (no model needed)."""
    from emotag.exiftool import MetadataError
    from emotag.record import Metadata
    from emotag.report import in_words, make_report

    settings, _ = _settings(ctx, sidecar=sidecar, exclude=exclude)
    photos = _photos(paths, settings)
    try:
        with Metadata() as metadata, _progress(len(photos), quiet=False) as bar:
            counted = make_report(
                photos, metadata, settings.scheme, settings.sidecar, bar.update, settings.sidecar_always
            )
    except (MetadataError, RuntimeError) as error:
        _fail_early(error)
    for path, message in counted.errors:
        click.echo(f"emotag: {shown(path)}: {message}", err=True)
    for folder in [*counted.folders, counted.total]:
        click.echo(json.dumps(folder.to_json()) if as_json else in_words(folder, settings.scheme, shown))
    sys.exit(1 if counted.errors else 0)


@main.command()
@paths_argument
@click.option("--dry-run", is_flag=True, help="Show which photos carry emotag's tags, but change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print {path, status} per photo (JSON Lines).")
@sidecar_option
@click.option(
    "--sidecar-always",
    is_flag=True,
    default=None,
    show_default="sidecar_always in the config, else off",
    help="The tags are in sidecars for every photo (as `tag --sidecar-always` wrote them).",
)
@exclude_option
@click.option("--keep-mtime", is_flag=True, default=None, help="Leave files' modification times as they were.")
@click.pass_context
def untag(ctx, paths, dry_run, as_json, sidecar, sidecar_always, exclude, keep_mtime):
    """Remove emotag's tags from PATHS, restoring every keyword field to what it held before.

    emotag then leaves those photos alone (in folder runs and watchers) until `emotag tag --force` names them."""
    from emotag.exiftool import MetadataError
    from emotag.record import Metadata
    from emotag.untag import untag_photos

    settings, _ = _settings(ctx, sidecar=sidecar, sidecar_always=sidecar_always, exclude=exclude, keep_mtime=keep_mtime)
    counts: Counter = Counter()
    try:
        with Metadata(keep_mtime=settings.keep_mtime) as metadata:
            photos = _photos(paths, settings)
            for done in untag_photos(photos, metadata, settings.sidecar, dry_run, settings.sidecar_always):
                counts[done.status] += 1
                if as_json:
                    click.echo(json.dumps(done.to_json()))
                elif done.status == "error":
                    click.echo(f"emotag: {shown(done.path)}: {done.error}", err=True)
                elif done.status == "untagged":
                    click.echo(as_stored("untagged " if not dry_run else "would untag ", done.path))
    except (MetadataError, RuntimeError) as error:
        _fail_early(error)
    click.echo(
        f"{counted(len(photos), 'photo')}: {counts['untagged']} untagged, {counts['not_tagged']} not tagged by emotag, "
        f"{counted(counts['error'], 'error')}" + (" (dry run: nothing written)" if dry_run else ""),
        err=True,
    )
    sys.exit(1 if counts["error"] else 0)


@main.command()
@click.argument("photos", nargs=-1, required=True, type=ExistingPath())
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per photo (JSON Lines).")
@click.pass_context
def show(ctx, photos, as_json):
    """Show each photo's faces, boxes, scores and emotion tags (read now if it is not tagged)."""
    from emotag.exiftool import MetadataError
    from emotag.picker import describe_photo

    settings, _ = _settings(ctx)
    failed = 0
    for number, photo in enumerate(photos):
        try:
            description = describe_photo(photo, settings)
        except (RuntimeError, MetadataError) as error:
            _fail_early(error)
        failed += bool(description.get("error"))
        if as_json:
            click.echo(json.dumps(description))
        elif description.get("error"):
            click.echo(f"emotag: {shown(photo)}: {description['error']}", err=True)
        else:
            click.echo(("\n" if number else "") + _describe_for_people(description))
    sys.exit(1 if failed else 0)


LOOKED_AT = {
    "no_faces": "emotag tag found no faces (nothing to write)",
    "skipped": "emotag tag found only faces too small to read (nothing to write)",
}


def _describe_for_people(d: dict) -> str:
    if d["tagged"]:
        source = f"from emotag's tags (model {d['model_version']})"
    elif d.get("status") in LOOKED_AT:
        source = f"read now; {LOOKED_AT[d['status']]}"
    else:
        source = "read now (not tagged yet)"
    lines = [f"{shown(d['path'])}: {counted(len(d['faces']), 'face')}, {source}"]
    for i, face in enumerate(d["faces"], 1):
        left, top_, width, height = face["box"]
        if face.get("scores"):
            ranked = sorted(face["scores"].items(), key=lambda kv: -kv[1])
            scores = ", ".join(f"{e} {s:.2f}" for e, s in ranked[:3])
            eyes = {"open": ", eyes open", "closed": ", eyes closed"}.get(face.get("eyes") or "", ", eyes not told")
            lines.append(f"  face {i} at {left},{top_} size {width}x{height}: {face['emotion']} ({scores}){eyes}")
        else:
            lines.append(f"  face {i} at {left},{top_} size {width}x{height}: too small to read")
    tags = d["tags"] + ([d["eyes_tag"]] if d.get("eyes_tag") else [])
    lines.append(f"  tags: {', '.join(tags) or 'none'}")
    return "\n".join(lines)


@main.command(name="config")
def show_config():
    """Show where the configuration file is and the settings in effect."""
    from emotag.config import ConfigError, as_toml, config_path, load_config
    from emotag.expressions import ModelError, model_thresholds

    path = config_path()
    try:
        config = load_config(path)
    except ConfigError as error:
        config_error(error)
    click.echo(f"# {path} ({'found' if path.is_file() else 'not found: these are the defaults'})")
    try:
        model = model_thresholds()
    except ModelError:
        model = {}
    click.echo(as_toml(config, model), nl=False)


@main.command()
@click.argument("folders", nargs=-1, type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option("--polling", is_flag=True, help="List the folders every few seconds instead of waiting for events.")
@click.option("--status", "show_status", is_flag=True, help="Tell whether a watcher runs, what it did, what is queued.")
@tagging_options
@click.pass_context
def watch(ctx, folders, polling, show_status, dry_run, as_json, force, jobs, min_confidence, sidecar, **choices):
    """Watch FOLDERS (recursively) and tag each photo that arrives, once it is complete. Stop with Ctrl-C."""
    from emotag.watcher import describe_status, read_statuses

    if show_status:
        statuses = read_statuses()
        for status in statuses:
            click.echo(json.dumps(status) if as_json else describe_status(status))
        if not statuses and not as_json:
            click.echo("no watcher has run yet")
        sys.exit(0 if any(status["running"] for status in statuses) else 3)
    if not folders:
        raise click.UsageError("name at least one folder to watch")
    from emotag.batch import default_jobs
    from emotag.exiftool import MetadataError
    from emotag.expressions import ModelError
    from emotag.watcher import Watcher

    settings, config = _settings(
        ctx, force=force, dry_run=dry_run, min_confidence=min_confidence, sidecar=sidecar, **choices
    )
    watcher = Watcher(list(folders), settings, jobs or config.jobs or default_jobs(), polling, as_json)
    try:
        sys.exit(watcher.run())
    except (ModelError, MetadataError, RuntimeError, OSError) as error:
        _fail_early(error)


if __name__ == "__main__":
    main()
