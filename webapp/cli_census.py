"""`flask --app wsgi census refresh --years 2019-2023 [--source URL_PATTERN] [--queue]`."""

from __future__ import annotations

import re

import click
from flask import current_app
from flask.cli import AppGroup

census_cli = AppGroup("census", help="Brazil's School Census (INEP microdata).")

_RANGE = re.compile(r"^(\d{4})\s*-\s*(\d{4})$")


@census_cli.command("refresh")
@click.option("--years", required=True, help="A range (2019-2023), a list (2019,2021) or one year.")
@click.option("--source", default=None, help="URL or path with {year}; default: INEP's official download address.")
@click.option("--queue", "use_queue", is_flag=True, help="Hand the refresh to a worker instead of running it here.")
def census_refresh(years: str, source: str | None, use_queue: bool) -> None:
    """Download and load census years; exits non-zero if any year fails (the others are kept)."""
    from jobs import census, queue

    wanted = parse_years(years)
    if use_queue:
        try:
            run = census.enqueue_census_refresh(wanted, source, requested_by="cli")
        except (queue.QueueUnavailableError, queue.JobAlreadyRunningError, ValueError) as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"queued run {run.id} ({run.kind})")
        return
    data_dir = current_app.config["SETTINGS"].data_dir
    with click.progressbar(length=100, label="census", item_show_func=lambda message: message or "") as bar:

        def progress(event: census.RefreshProgress) -> None:
            bar.update(max(event.percent - bar.pos, 0), event.message)

        try:
            result = census.refresh(wanted, source, progress, data_dir=data_dir, requested_by="cli")
        except census.CensusRefreshError as exc:
            result = exc.result
            failure = exc
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        else:
            failure = None
    for load in result.loaded:
        renamed = f", renamed columns {load.renamed}" if load.renamed else ""
        click.echo(
            f"{load.year}: {load.rows:,} schools ({load.active_schools:,} active), md5 {load.md5_check}{renamed}"
        )
    if result.loaded:
        click.echo(f"forecasts: {census.republish_forecasts(result, 'cli')}")
    if failure is not None:
        for year, reason in failure.result.failed.items():
            click.echo(f"{year}: FAILED: {reason}", err=True)
        raise click.ClickException(f"{len(failure.errors)} year(s) failed; what was loaded before is unchanged")


def parse_years(text: str) -> list[int]:
    """'2019-2023', '2019,2021' or '2023' -> the years, sorted."""
    years: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        match = _RANGE.match(part)
        if match:
            first, last = int(match.group(1)), int(match.group(2))
            if first > last:
                raise click.BadParameter(f"{part}: the range runs backwards", param_hint="--years")
            years.update(range(first, last + 1))
        elif part.isdigit() and len(part) == 4:
            years.add(int(part))
        else:
            raise click.BadParameter(f"{part!r} is not a year or a range like 2019-2023", param_hint="--years")
    return sorted(years)
