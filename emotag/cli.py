"""The `emotag` command: a thin layer over the pipeline. Errors for people on stderr, `--json` for programs.

One handler (`Emotag.main`) turns every `EmotagError` into one line, `emotag: ...`, and exit status 1 (2 for a
configuration emotag cannot use, or no cluster at the address: nothing was done); anything else is a bug and shows
its traceback. The words themselves are `emotag.presentation`'s.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections import Counter
from contextlib import closing, contextmanager, suppress
from pathlib import Path

import click

from emotag import presentation as say
from emotag.cli_options import (
    ExistingPath,
    album_option,
    cluster_option,
    config_flag,
    described,
    exclude_option,
    html_option,
    json_option,
    keep_mtime_option,
    paths_argument,
    sidecar_option,
    tagging_options,
    version_option,
)
from emotag.emotions import EMOTIONS
from emotag.errors import EmotagError
from emotag.results import Status

CONFIG_ERROR = 2
"""The exit status of a configuration file emotag cannot use (as of a misused command: nothing was done)."""


def exit_status(error: EmotagError) -> int:
    """1 for an error met while working; 2 where nothing was done (a config emotag cannot use, no cluster)."""
    from emotag.config import ConfigError

    return CONFIG_ERROR if isinstance(error, ConfigError) else getattr(error, "exit_status", 1)


class Emotag(click.Group):
    """The `emotag` group: a misused command is one line on stderr and exit status 2 (click's usage block, with
    its blank lines and "Try ... for help", does not fit the rule of one line per problem); an `EmotagError` is
    one line and `exit_status`."""

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
        except EmotagError as error:
            click.echo(f"emotag: {error}", err=True)
            sys.exit(exit_status(error))
        sys.exit(status if isinstance(status, int) else 0)


def _settings(**overrides):
    """The user's configuration with the command line's options laid over it."""
    from emotag.config import load_config, overridden
    from emotag.pipeline import Settings

    config = overridden(load_config(), overrides)
    force, dry_run = bool(overrides.get("force")), bool(overrides.get("dry_run"))
    return Settings.from_config(config, force=force, dry_run=dry_run), config


def _photos(paths: tuple[Path, ...], settings=None, stop=None) -> list[Path]:
    from emotag.discovery import find_photos

    photos = []
    for photo in find_photos(paths, settings.exclusions() if settings else None):
        if stop:
            break  # a stop signal while a large archive is listed
        photos.append(photo)
    return photos


def _progress(total: int, quiet: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="photo", disable=quiet or not sys.stderr.isatty(), file=sys.stderr, leave=False)


@click.group(cls=Emotag, context_settings={"help_option_names": ["-h", "--help"], "show_default": True})
@version_option
@click.option("-v", "--verbose", is_flag=True, help="Log what happens to stderr.")
def main(verbose: bool) -> None:
    """Read the expressions on the faces in photos and write them as keywords photo managers search."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="emotag: %(message)s")
    if verbose:
        os.environ["EMOTAG_VERBOSE"] = "1"  # worker processes log as this one does


@contextmanager
def _results(photos: list[Path], settings, jobs: int, cluster: str | None, stop):
    """The results of tagging `photos`: in worker processes here, or on a Dask cluster (Dask imported only then)."""
    if not cluster:
        from emotag.batch import tag_photos

        with closing(tag_photos(photos, settings, jobs, stop)) as results:
            yield results
        return
    from emotag.cluster import connect, tag_on_cluster

    with connect(cluster) as client, closing(tag_on_cluster(client, photos, settings, stop)) as results:
        yield results


@main.command()
@paths_argument
@tagging_options
@cluster_option
def tag(paths, dry_run, as_json, force, jobs, min_confidence, sidecar, cluster, **choices):
    """Tag the photos in PATHS (files or folders, recursive) with the emotions on their faces.

    Stop with Ctrl-C or SIGTERM: the photos in hand are finished and the summary printed (exit status 130 or 143);
    the same command later does what is left."""
    from emotag.batch import default_jobs
    from emotag.stopping import StopNow, StopSignals

    if cluster and jobs:
        raise click.UsageError("--jobs counts local workers; with --cluster the cluster's workers do the work")
    settings, config = _settings(
        force=force, dry_run=dry_run, min_confidence=min_confidence, sidecar=sidecar, **choices
    )
    jobs = jobs if jobs else (config.jobs or default_jobs())
    counts: Counter = Counter()
    changes: Counter = Counter()  # emotag's tags added and removed
    faces = 0
    started = time.monotonic()
    with StopSignals() as signals:
        photos = _photos(paths, settings, signals.stop)
        with (
            suppress(StopNow),
            _results(photos, settings, jobs, cluster, signals.stop) as results,
            _progress(len(photos), quiet=False) as bar,
        ):
            for result in results:
                counts[result.status] += 1
                changes.update(added=len(result.added), removed=len(result.removed))
                faces += len(result.faces)
                bar.update()
                if as_json:
                    click.echo(json.dumps(result.to_json()))
                elif dry_run and (result.added or result.removed):
                    bar.clear()
                    click.echo(say.would_change(result))
                if result.status == Status.ERROR:
                    bar.clear()
                    click.echo(say.error_line(result.path, result.error), err=True)
    summary = say.tag_summary(counts, changes, faces, time.monotonic() - started, dry_run)
    if signals.number is not None:
        summary += say.stopped_early(signals.name, len(photos), sum(counts.values()))
    click.echo(summary, err=True)
    if signals.number is not None:
        sys.exit(128 + signals.number)
    sys.exit(1 if counts[Status.ERROR] else 0)


@main.command()
@click.argument("emotion", type=click.Choice(EMOTIONS, case_sensitive=False))
@paths_argument
@click.option("-n", "count", type=click.IntRange(min=1), default=10, help="How many photos.")
@album_option("--copy-to", "Copy")
@album_option("--link-to", "Link")
@html_option
@json_option("{path, score} per photo, best first (JSON Lines)")
@click.option("--eyes-open", is_flag=True, help="Leave out photos in which a face has its eyes closed.")
@click.option(
    "--per-burst", is_flag=True, help="Keep only the best shot of each burst (shots seconds apart that look alike)."
)
@exclude_option
def top(emotion, paths, count, copy_to, link_to, html_file, as_json, eyes_open, per_burst, exclude):
    """The N photos in PATHS whose faces show EMOTION most strongly."""
    from emotag.albums import leave_out_albums
    from emotag.picker import make_album, rank, write_contact_sheet

    if copy_to and link_to:
        raise click.UsageError("choose one of --copy-to and --link-to")
    settings, _ = _settings(exclude=exclude)
    emotion = emotion.lower()
    photos = leave_out_albums(_photos(paths, settings))  # emotag's own album copies would rank each photo twice
    with _progress(len(photos), quiet=False) as bar:
        bar.set_description("reading faces", refresh=False)
        best, errors = rank(
            photos, emotion, count, settings, looked_at=bar.update, eyes_open=eyes_open, per_burst=per_burst
        )
    for path, message in errors:
        click.echo(say.error_line(path, message), err=True)
    for item in best:
        if as_json:
            burst = {"burst": [str(shot.path) for shot in item.burst]} if per_burst else {}
            click.echo(json.dumps({"path": str(item.path), "score": round(item.score, 4)} | burst))
        else:
            click.echo(say.ranked_line(item.score, item.path, len(item.burst)))
    if copy_to or link_to:
        try:
            problems = make_album(best, copy_to or link_to, link=bool(link_to))
        except OSError as error:
            problems = [say.no_album(copy_to or link_to, described(error))]
        for problem in problems:
            click.echo(f"emotag: {problem}", err=True)
            errors.append(problem)
    if html_file:
        try:
            write_contact_sheet(best, emotion, html_file)
            click.echo(say.sheet_written(html_file), err=True)
        except OSError as error:
            click.echo(say.error_line(html_file, say.no_sheet(described(error))), err=True)
            errors.append(html_file)
    sys.exit(1 if errors else 0)


@main.command()
@paths_argument
@json_option("one object per folder, then the total (JSON Lines)")
@sidecar_option
@exclude_option
def report(paths, as_json, sidecar, exclude):
    """Count the photos in PATHS per folder and per tag, from emotag's tags in the photos (no model needed)."""
    from emotag.record import Metadata
    from emotag.report import in_words, make_report

    settings, _ = _settings(sidecar=sidecar, exclude=exclude)
    photos = _photos(paths, settings)
    with Metadata() as metadata, _progress(len(photos), quiet=False) as bar:
        counted = make_report(photos, metadata, settings.scheme, settings.sidecar, bar.update, settings.sidecar_always)
    for path, message in counted.errors:
        click.echo(say.error_line(path, message), err=True)
    for folder in [*counted.folders, counted.total]:
        click.echo(json.dumps(folder.to_json()) if as_json else in_words(folder, settings.scheme, say.shown))
    sys.exit(1 if counted.errors else 0)


@main.command()
@paths_argument
@click.option("--dry-run", is_flag=True, help="Show which photos carry emotag's tags, but change nothing.")
@json_option("{path, status} per photo (JSON Lines)")
@sidecar_option
@config_flag("--sidecar-always", "The tags are in sidecars for every photo (as `tag --sidecar-always` wrote them).")
@exclude_option
@keep_mtime_option
def untag(paths, dry_run, as_json, sidecar, sidecar_always, exclude, keep_mtime):
    """Remove emotag's tags from PATHS, restoring every keyword field to what it held before.

    emotag then leaves those photos alone (in folder runs and watchers) until `emotag tag --force` names them."""
    from emotag.record import Metadata
    from emotag.untag import untag_photos

    settings, _ = _settings(sidecar=sidecar, sidecar_always=sidecar_always, exclude=exclude, keep_mtime=keep_mtime)
    counts: Counter = Counter()
    with Metadata(keep_mtime=settings.keep_mtime) as metadata:
        photos = _photos(paths, settings)
        for done in untag_photos(photos, metadata, settings.sidecar, dry_run, settings.sidecar_always):
            counts[done.status] += 1
            if as_json:
                click.echo(json.dumps(done.to_json()))
            elif done.status == Status.ERROR:
                click.echo(say.error_line(done.path, done.error), err=True)
            elif done.status == Status.UNTAGGED:
                click.echo(say.untag_line(done.path, dry_run))
    click.echo(say.untag_summary(len(photos), counts, dry_run), err=True)
    sys.exit(1 if counts["error"] else 0)


@main.command()
@click.argument("photos", nargs=-1, required=True, type=ExistingPath())
@json_option()
def show(photos, as_json):
    """Show each photo's faces, boxes, scores and emotion tags (read now if it is not tagged)."""
    from emotag.picker import describe_photo

    settings, _ = _settings()
    failed = 0
    for number, photo in enumerate(photos):
        description = describe_photo(photo, settings)
        failed += bool(description.get("error"))
        if as_json:
            click.echo(json.dumps(description))
        elif description.get("error"):
            click.echo(say.error_line(photo, description["error"]), err=True)
        else:
            click.echo(("\n" if number else "") + say.described_photo(description))
    sys.exit(1 if failed else 0)


@main.command(name="config")
def show_config():
    """Show where the configuration file is and the settings in effect."""
    from emotag.config import as_toml, config_path, load_config
    from emotag.expressions import ModelError, model_thresholds

    path = config_path()
    config = load_config(path)
    click.echo(say.config_heading(path, path.is_file()))
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
def watch(folders, polling, show_status, dry_run, as_json, force, jobs, min_confidence, sidecar, **choices):
    """Watch FOLDERS (recursively) and tag each photo that arrives, once it is complete. Stop with Ctrl-C."""
    if show_status:
        from emotag.watch_status import read_statuses

        statuses = read_statuses()
        for status in statuses:
            click.echo(json.dumps(status) if as_json else say.describe_status(status))
        if not statuses and not as_json:
            click.echo(say.NO_WATCHER)
        sys.exit(0 if any(status["running"] for status in statuses) else 3)
    if not folders:
        raise click.UsageError("name at least one folder to watch")
    from emotag.batch import default_jobs
    from emotag.watcher import Watcher

    settings, config = _settings(
        force=force, dry_run=dry_run, min_confidence=min_confidence, sidecar=sidecar, **choices
    )
    tell = say.WatchLog(settings.dry_run, as_json)
    sys.exit(Watcher(list(folders), settings, tell, jobs or config.jobs or default_jobs(), polling).run())


if __name__ == "__main__":
    main()
