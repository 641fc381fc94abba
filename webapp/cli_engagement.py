"""`flask --app wsgi engagement ...`: import a labelled zip of faces, purge expired image uploads."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

engagement_cli = AppGroup("engagement", help="The engagement model's labelled data and the uploaded images.")


@engagement_cli.command("purge-uploads")
def purge_uploads() -> None:
    """Delete every image upload whose retention period (AULA_UPLOAD_RETENTION_DAYS) has passed."""
    from ml.engagement.uploads import images_dir, purge_expired

    deleted = purge_expired(images_dir(current_app.config["SETTINGS"]))
    click.echo(f"{deleted:,} expired uploads deleted")


@engagement_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--name", default="", help="What to call the set (default: the file's name).")
@click.option("--layout", type=click.Choice(["auto", "class", "group/subclass"]), default="auto", show_default=True)
@click.option("--engaged", "engaged", multiple=True, help="A class that counts as engaged (repeatable).")
@click.option("--not-engaged", "not_engaged", multiple=True, help="A class that counts as not engaged (repeatable).")
def import_dataset(path: str, name: str, layout: str, engaged: tuple[str, ...], not_engaged: tuple[str, ...]) -> None:
    """Import a labelled zip of face images (read here, not by a worker; no upload size limit), as the admin page
    does. Classes not named with --engaged/--not-engaged keep the mapping suggested from their names.

    Exits 1 when the zip is refused as a whole or a class is left unmapped.
    """
    from ml.engagement.datasets import create_dataset, read_dataset, set_mapping

    source = Path(path)
    dataset = create_dataset(name, source.name, layout, "cli", lambda target: shutil.copyfile(source, target))
    read_dataset(dataset, lambda _pct, message: click.echo(f"  {message}", err=True))
    if dataset.status == "refused":
        click.echo(f"{source.name}: refused: {dataset.message}")
        sys.exit(1)
    unknown = sorted((set(engaged) | set(not_engaged)) - set(dataset.classes))
    if unknown:
        click.echo(f"warning: no such class: {', '.join(unknown)}", err=True)
    chosen = {**{c: True for c in engaged}, **{c: False for c in not_engaged}}
    set_mapping(dataset, {c: chosen.get(c, dataset.mapping.get(c)) for c in dataset.classes}, included=True)
    report = dataset.report
    click.echo(
        f"{dataset.name} (dataset {dataset.id}): {report['accepted']:,} images accepted, "
        f"{report['refused_total']:,} refused; status {dataset.status}"
    )
    for label, count in dataset.classes.items():
        side = {True: "engaged", False: "not engaged", None: "UNMAPPED"}[dataset.mapping.get(label)]
        click.echo(f"  {label:<40} {count:>7,}  {side}")
    if dataset.status != "ready":
        click.echo(dataset.message)
        sys.exit(1)
