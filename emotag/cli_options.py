"""The command line's options and arguments, each spelt once and shared by the commands that take it (osxphotos'
option bundles, `cli/cli_params.py`). Choices come from the constants the configuration checks against.

A mistake found here (a mistyped path, a folder emotag cannot write in, a malformed cluster address) is a usage
error: one line before any work starts.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from emotag.config import SIDECAR_STYLES
from emotag.emotions import EMOTIONS
from emotag.presentation import cannot_write_there, not_a_folder, shown


def show_version(ctx: click.Context, param, value: bool) -> None:
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


version_option = click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=show_version,
    help="Show emotag's version and the expression model's, and exit.",
)


def json_option(what: str = "one JSON object per photo (JSON Lines)"):
    return click.option("--json", "as_json", is_flag=True, help=f"Print {what}.")


def config_flag(name: str, meaning: str, where: str = ""):
    """A flag whose default is the config's setting of the same name (`where`: its table), else off."""
    setting = name.removeprefix("--").replace("-", "_")
    default = f"{setting} in {where}the config, else off"
    return click.option(name, is_flag=True, default=None, show_default=default, help=meaning)


sidecar_option = click.option(
    "--sidecar",
    type=click.Choice(SIDECAR_STYLES),
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
keep_mtime_option = config_flag("--keep-mtime", "Leave files' modification times as they were.")


def tagging_options(command):
    """The options `tag` and `watch` share, spelt the same in both."""
    options = [
        click.option("--dry-run", is_flag=True, help="Read the faces and show the tags, but write nothing."),
        json_option(),
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
        config_flag(
            "--sidecar-always",
            "Write an XMP sidecar (IMG.JPG.xmp) for JPEG, TIFF, PNG and HEIC too: originals are never modified.",
        ),
        keep_mtime_option,
        click.option(
            "--leave-out",
            type=click.Choice(EMOTIONS, case_sensitive=False),
            multiple=True,
            show_default="leave_out in [tags] of the config, else none",
            help="An emotion never to write as a keyword (again for more: --leave-out neutral --leave-out fear).",
        ),
        config_flag(
            "--flat", "Write keywords alone (Happy), without the root above them (Emotion|Happy).", "[tags] of "
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


def check_cluster(ctx, param, value: str | None) -> str | None:
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


cluster_option = click.option(
    "--cluster",
    callback=check_cluster,
    metavar="ADDRESS",
    show_default="none: on this machine",
    help="Tag on a Dask cluster: a scheduler's address (tcp://host:8786), or local:N for N local workers.",
)


def described(error: OSError) -> str:
    from emotag.causes import describe

    return describe(error)


def writable_folder(ctx, param, value: Path | None) -> Path | None:
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
        raise click.BadParameter(not_a_folder(existing))
    try:
        tempfile.TemporaryFile(dir=existing).close()  # the one sure test of "may write here" (root, ACLs, mounts)
    except OSError as error:
        raise click.BadParameter(cannot_write_there(existing, described(error))) from None
    return value


def album_option(name: str, verb: str):
    """`--copy-to` or `--link-to`: a folder made if missing."""
    kind = click.Path(path_type=Path, file_okay=False)
    return click.option(
        name, type=kind, callback=writable_folder, help=f"{verb} the photos into this folder (made if missing)."
    )


html_option = click.option(
    "--html",
    "html_file",
    type=click.Path(path_type=Path, dir_okay=False),
    callback=writable_folder,
    help="Write a contact sheet: thumbnails with face boxes and scores.",
)
