"""The `emotag` command: a thin layer over the pipeline. Errors for people on stderr, `--json` for programs."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections import Counter
from contextlib import closing, contextmanager
from pathlib import Path

import click

from emotag.emotions import EMOTIONS

log = logging.getLogger("emotag")


def _settings(ctx: click.Context, **overrides):
    """The user's configuration with the command line's options laid over it."""
    from emotag.config import ConfigError, check, load_config
    from emotag.pipeline import Settings
    from emotag.tags import TagScheme

    try:
        config = load_config()
        for key, value in overrides.items():
            if value is not None and hasattr(config, key):
                setattr(config, key, value)
        check(config, "command line")
    except ConfigError as error:
        raise click.UsageError(str(error)) from None
    settings = Settings(
        min_confidence=config.min_confidence,
        thresholds=dict(config.thresholds),
        scheme=TagScheme(config.root, dict(config.labels), config.eyes_closed),
        sidecar=config.sidecar,
        max_side=config.max_side,
        min_face=config.min_face,
        keep_mtime=config.keep_mtime,
        force=bool(overrides.get("force")),
        dry_run=bool(overrides.get("dry_run")),
    )
    return settings, config


def _photos(paths: tuple[Path, ...]) -> list[Path]:
    from emotag.pipeline import find_photos

    return list(find_photos(paths))


def shown(path) -> str:
    """A path for a one-line message: line breaks and other control characters escaped."""
    text = str(path)
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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


def tagging_options(command):
    """The options `tag` and `watch` share, spelt the same in both (osxphotos' option bundles)."""
    options = [
        click.option("--dry-run", is_flag=True, help="Read the faces and show the tags, but write nothing."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object per photo (JSON Lines)."),
        click.option("--force", is_flag=True, help="Read photos again even if this model version tagged them."),
        click.option("--jobs", type=click.IntRange(min=0), help="Worker processes (default: one per core)."),
        click.option("--min-confidence", type=click.FloatRange(0, 1), help="Tag an emotion from this confidence on."),
        click.option(
            "--sidecar",
            type=click.Choice(["darktable", "lightroom"]),
            help="Sidecar name for raw files: IMG.CR2.xmp (darktable, digiKam) or IMG.xmp (Lightroom).",
        ),
        click.option("--keep-mtime", is_flag=True, default=None, help="Leave files' modification times as they were."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


paths_argument = click.argument(
    "paths",
    nargs=-1,
    required=True,
    type=click.Path(path_type=Path, readable=False),  # named by emotag if unreadable
)


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
def _results(photos: list[Path], settings, jobs: int, cluster: str | None):
    """The results of tagging `photos`: in worker processes here, or on a Dask cluster (Dask imported only then)."""
    if not cluster:
        from emotag.batch import tag_photos

        yield tag_photos(photos, settings, jobs)
        return
    from emotag.cluster import ClusterUnreachable, connect, tag_on_cluster

    try:
        with connect(cluster) as client, closing(tag_on_cluster(client, photos, settings)) as results:
            yield results
    except ClusterUnreachable as error:
        click.echo(f"emotag: {error}", err=True)
        sys.exit(2)


@main.command()
@paths_argument
@tagging_options
@click.option(
    "--cluster",
    callback=_check_cluster,
    metavar="ADDRESS",
    help="Tag on a Dask cluster: a scheduler's address (tcp://host:8786), or local:N for N local workers.",
)
@click.pass_context
def tag(ctx, paths, dry_run, as_json, force, jobs, min_confidence, sidecar, keep_mtime, cluster):
    """Tag the photos in PATHS (files or folders, recursive) with the emotions on their faces."""
    from emotag.batch import default_jobs
    from emotag.expressions import ModelError
    from emotag.metadata import MetadataError

    if cluster and jobs:
        raise click.UsageError("--jobs counts local workers; with --cluster the cluster's workers do the work")
    settings, config = _settings(
        ctx, force=force, dry_run=dry_run, min_confidence=min_confidence, sidecar=sidecar, keep_mtime=keep_mtime
    )
    photos = _photos(paths)
    jobs = jobs if jobs else (config.jobs or default_jobs())
    counts: Counter = Counter()
    faces = 0
    started = time.monotonic()
    try:
        with _results(photos, settings, jobs, cluster) as results, _progress(len(photos), quiet=False) as bar:
            for result in results:
                counts[result.status] += 1
                faces += len(result.faces)
                bar.update()
                if as_json:
                    click.echo(json.dumps(result.to_json()))
                if result.status == "error":
                    bar.clear()
                    click.echo(f"emotag: {shown(result.path)}: {result.error}", err=True)
    except (ModelError, MetadataError, RuntimeError) as error:
        _fail_early(error)
    seconds = time.monotonic() - started
    summary = (
        f"{len(photos)} photos, {faces} faces: {counts['tagged']} tagged, {counts['no_faces']} no faces, "
        f"{counts['skipped']} skipped (faces too small), {counts['unchanged']} unchanged, "
        f"{counts['error']} errors, {seconds:.1f} s" + (" (dry run: nothing written)" if dry_run else "")
    )
    click.echo(summary, err=True)
    sys.exit(1 if counts["error"] else 0)


@main.command()
@click.argument("emotion", type=click.Choice(EMOTIONS, case_sensitive=False))
@paths_argument
@click.option("-n", "count", type=click.IntRange(min=1), default=10, show_default=True, help="How many photos.")
@click.option("--copy-to", type=click.Path(path_type=Path, file_okay=False), help="Copy the photos into this folder.")
@click.option("--link-to", type=click.Path(path_type=Path, file_okay=False), help="Link the photos into this folder.")
@click.option(
    "--html",
    "html_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write a contact sheet: thumbnails with face boxes and scores.",
)
@click.option("--json", "as_json", is_flag=True, help="Print {path, score} per photo, best first (JSON Lines).")
@click.option("--eyes-open", is_flag=True, help="Leave out photos in which a face has its eyes closed.")
@click.option(
    "--per-burst", is_flag=True, help="Keep only the best shot of each burst (shots seconds apart that look alike)."
)
@click.pass_context
def top(ctx, emotion, paths, count, copy_to, link_to, html_file, as_json, eyes_open, per_burst):
    """The N photos in PATHS whose faces show EMOTION most strongly."""
    from emotag.albums import leave_out_albums
    from emotag.metadata import MetadataError
    from emotag.picker import make_album, rank, write_contact_sheet

    if copy_to and link_to:
        raise click.UsageError("choose one of --copy-to and --link-to")
    settings, _ = _settings(ctx)
    emotion = emotion.lower()
    photos = leave_out_albums(_photos(paths))  # emotag's own album copies would rank each photo twice
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
            click.echo(f"{item.score:.3f}  {item.path}{shots}")
    if copy_to or link_to:
        for problem in make_album(best, copy_to or link_to, link=bool(link_to)):
            click.echo(f"emotag: {problem}", err=True)
            errors.append(problem)
    if html_file:
        write_contact_sheet(best, emotion, html_file)
        click.echo(f"contact sheet: {html_file}", err=True)
    sys.exit(1 if errors else 0)


@main.command()
@paths_argument
@click.option("--json", "as_json", is_flag=True, help="Print one object per folder, then the total (JSON Lines).")
@click.option("--sidecar", type=click.Choice(["darktable", "lightroom"]), help="Sidecar name for raw files.")
@click.pass_context
def report(ctx, paths, as_json, sidecar):
    """Count the photos in PATHS per folder and per tag, from emotag's tags in the photos (no model needed)."""
    from emotag.metadata import Metadata, MetadataError
    from emotag.report import in_words, make_report

    settings, _ = _settings(ctx, sidecar=sidecar)
    photos = _photos(paths)
    try:
        with Metadata() as metadata, _progress(len(photos), quiet=False) as bar:
            counted = make_report(photos, metadata, settings.scheme, settings.sidecar, looked_at=bar.update)
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
@click.option("--sidecar", type=click.Choice(["darktable", "lightroom"]), help="Sidecar name for raw files.")
@click.pass_context
def untag(ctx, paths, dry_run, as_json, sidecar):
    """Remove emotag's tags from PATHS, restoring every keyword field to what it held before."""
    from emotag.metadata import Metadata, MetadataError
    from emotag.untag import untag_photos

    settings, _ = _settings(ctx, sidecar=sidecar)
    failed = 0
    try:
        with Metadata(keep_mtime=settings.keep_mtime) as metadata:
            for path, status, message in untag_photos(_photos(paths), metadata, settings.sidecar, dry_run):
                failed += status == "error"
                if as_json:
                    record = {"path": str(path), "status": status} | ({"error": message} if message else {})
                    click.echo(json.dumps(record))
                elif status == "error":
                    click.echo(f"emotag: {shown(path)}: {message}", err=True)
                elif status == "untagged":
                    click.echo(f"untagged {path}" if not dry_run else f"would untag {path}")
    except (MetadataError, RuntimeError) as error:
        _fail_early(error)
    sys.exit(1 if failed else 0)


@main.command()
@click.argument("photo", type=click.Path(path_type=Path, readable=False))
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.pass_context
def show(ctx, photo, as_json):
    """Show a photo's faces, boxes, scores and emotion tags (read now if it is not tagged)."""
    from emotag.metadata import MetadataError
    from emotag.picker import describe_photo

    settings, _ = _settings(ctx)
    try:
        description = describe_photo(photo, settings)
    except (RuntimeError, MetadataError) as error:
        _fail_early(error)
    if as_json:
        click.echo(json.dumps(description))
    elif description.get("error"):
        click.echo(f"emotag: {shown(photo)}: {description['error']}", err=True)
    else:
        click.echo(_describe_for_people(description))
    sys.exit(1 if description.get("error") else 0)


def _describe_for_people(d: dict) -> str:
    source = f"from emotag's tags (model {d['model_version']})" if d["tagged"] else "read now (not tagged yet)"
    lines = [f"{d['path']}: {len(d['faces'])} face(s), {source}"]
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
        raise click.UsageError(str(error)) from None
    click.echo(f"# {path} ({'found' if path.is_file() else 'not found: these are the defaults'})")
    try:
        model = model_thresholds()
    except ModelError:
        model = {}
    click.echo(as_toml(config, model), nl=False)


@main.command()
@click.argument("folders", nargs=-1, type=click.Path(path_type=Path, file_okay=False))
@click.option("--polling", is_flag=True, help="List the folders every few seconds instead of waiting for events.")
@click.option("--status", "show_status", is_flag=True, help="Tell whether a watcher runs, what it did, what is queued.")
@tagging_options
@click.pass_context
def watch(ctx, folders, polling, show_status, dry_run, as_json, force, jobs, min_confidence, sidecar, keep_mtime):
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
    from emotag.expressions import ModelError
    from emotag.metadata import MetadataError
    from emotag.watcher import Watcher

    settings, config = _settings(
        ctx, force=force, dry_run=dry_run, min_confidence=min_confidence, sidecar=sidecar, keep_mtime=keep_mtime
    )
    watcher = Watcher(list(folders), settings, jobs or config.jobs or default_jobs(), polling, as_json)
    try:
        sys.exit(watcher.run())
    except (ModelError, MetadataError, RuntimeError, OSError) as error:
        _fail_early(error)


if __name__ == "__main__":
    main()
