"""`flask --app wsgi ...` commands: db, users, demo, retrain, models, worker."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from core import db
from core.models import ROLES, ApiToken, ModelVersion, User

db_cli = AppGroup("db", help="Database schema (Alembic migrations).")
users_cli = AppGroup("users", help="User accounts.")
demo_cli = AppGroup("demo", help="Demo data and models.")
records_cli = AppGroup("records", help="Academic records (students' enrollments, signals and outcomes).")
models_cli = AppGroup("models", help="The model registry.")

DEMO_USERS = {
    "admin": "admin@aula.example",
    "faculty": "faculty@aula.example",
    "facilities": "facilities@aula.example",
    "ministry": "ministry@aula.example",
}


def register(app: Flask) -> None:
    from webapp.cli_campus import campus_cli
    from webapp.cli_census import census_cli

    for group in (db_cli, users_cli, demo_cli, models_cli, records_cli, census_cli, campus_cli):
        app.cli.add_command(group)
    from webapp.cli_engagement import engagement_cli

    app.cli.add_command(engagement_cli)
    app.cli.add_command(retrain)
    app.cli.add_command(worker)


def alembic_config():
    from alembic.config import Config

    root = Path(__file__).resolve().parent.parent
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "migrations"))
    config.attributes["url"] = current_app.config["DATABASE_URL"]
    return config


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    from alembic import command

    _ensure_sqlite_folder()
    command.upgrade(alembic_config(), revision)


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (e.g. base)."""
    from alembic import command

    command.downgrade(alembic_config(), revision)


@db_cli.command("check")
def db_check() -> None:
    """Fail if the models and the migrations disagree."""
    from alembic import command

    command.check(alembic_config())


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", default="")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="Prompted when omitted.")
def users_create(email: str, role: str, name: str, password: str) -> None:
    """Create a user."""
    try:
        user = User.create(email, role, password, name)
        db.session.commit()
    except ValueError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    click.echo(f"created {user.email} ({user.role})")


@users_cli.command("token")
@click.argument("email")
@click.option("--name", default="cli", help="What the token is for.")
def users_token(email: str, name: str) -> None:
    """Issue an API token for EMAIL (printed once)."""
    user = User.by_email(email)
    if user is None:
        raise click.ClickException(f"no user {email}")
    _, plain = ApiToken.issue(user, name)
    db.session.commit()
    click.echo(plain)


@demo_cli.command("seed")
def demo_seed() -> None:
    """Demo users, demo data and a first production model per task (idempotent; needs no worker)."""
    from ml import demo

    _seed_demo_users()
    scale = current_app.config["SETTINGS"].scale
    demo.seed_data(scale=scale, echo=click.echo)
    demo.train_missing_models(echo=click.echo)


def _seed_demo_users() -> None:
    import secrets

    created = []
    for role, email in DEMO_USERS.items():
        if User.by_email(email) is None:
            password = secrets.token_urlsafe(10)
            User.create(email, role, password, name=f"Demo {role}")
            created.append((email, role, password))
    db.session.commit()
    if created:
        click.echo("Demo users (passwords are shown only now; reset them from the admin page):")
        for email, role, password in created:
            click.echo(f"  {role:<11} {email:<26} {password}")
    else:
        click.echo("Demo users already exist (passwords unchanged).")


@records_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--mapping", "mapping_path", type=click.Path(exists=True, dir_okay=False),
              help="A mapping saved from the import page (JSON); default: the suggested one.")  # fmt: skip
@click.option("--default-term", default=None, help="The term of every row when the file has no term column.")
@click.option("--dry-run", is_flag=True, help="Validate and report; store nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def records_import(path: str, mapping_path: str | None, default_term: str | None, dry_run: bool, as_json: bool) -> None:
    """Import a CSV/Excel export of academic records through the same mapping, checks and report as the UI.

    Exits 1 when nothing could be imported (an unreadable file, a mapping that does not fit, no valid row).
    """
    from jobs import queue, tasks
    from ml.data.academic_import import ColumnMapping, ImportFormatError, MappingError, import_records

    file = Path(path)
    try:
        mapping = ColumnMapping.from_dict(json.loads(Path(mapping_path).read_text())) if mapping_path else None
        outcome = import_records(
            file.read_bytes(), file.name, mapping, uploaded_by="cli", dry_run=dry_run, default_term=default_term
        )
    except (ImportFormatError, MappingError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"{file.name}: {exc}") from exc
    report = outcome.report()
    if outcome.batch_id and outcome.current_rows:
        try:
            run = tasks.request_publish("at_risk", "cli", "current records imported")
            report["republish"] = f"the stored list is rescored by job {run.id} (a worker runs it)"
        except (queue.QueueUnavailableError, queue.JobAlreadyRunningError) as exc:
            report["republish"] = f"could not queue the rescoring of the stored list: {exc}"
    click.echo(json.dumps(report, indent=2) if as_json else _records_report_text(file.name, report))
    if not report["rows_valid"]:
        sys.exit(1)


def _records_report_text(name: str, report: dict) -> str:
    verb = "would import" if report["dry_run"] else "imported"
    lines = [f"{name}: {verb} {report['rows_valid']:,} of {report['rows_in_file']:,} rows"
             + (f" (batch {report['batch']})" if report["batch"] else "")]  # fmt: skip
    lines += [f"warning: {w}" for w in report["warnings"]]
    lines += [f"row {e['row']}, {e['column']}: {e['problem']}" for e in report["errors"]]
    if report["errors_truncated"]:
        lines.append(f"... {report['problems']:,} problems in all")
    if report.get("republish"):
        lines.append(report["republish"])
    return "\n".join(lines)


@click.command("retrain")
@click.argument("task")
@click.option("--wait", is_flag=True, help="Wait for the job and exit non-zero if it fails.")
@click.option("--timeout", default=3600, show_default=True, help="Seconds to wait.")
def retrain(task: str, wait: bool, timeout: int) -> None:
    """Queue retraining of TASK through the worker."""
    from jobs import queue, tasks
    from ml import lifecycle

    if task not in lifecycle.available_tasks():
        raise click.ClickException(f"unknown task {task!r}; known: {', '.join(lifecycle.available_tasks())}")
    try:
        run = tasks.enqueue_retrain(task, requested_by="cli")
    except (queue.QueueUnavailableError, queue.JobAlreadyRunningError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"queued run {run.id} ({run.kind})")
    if not wait:
        return
    run = queue.wait_for(run, timeout)
    click.echo(json.dumps(run.as_dict(), indent=2))
    if run.status != "succeeded":
        sys.exit(1)


@models_cli.command("list")
@click.option("--task", default=None)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def models_list(task: str | None, as_json: bool) -> None:
    """Model versions per task."""
    versions = ModelVersion.for_task(task)
    if as_json:
        keys = ("task", "version", "status", "metrics", "params", "created_at")
        click.echo(json.dumps([{k: v.as_dict()[k] for k in keys} for v in versions], indent=2))
        return
    for v in versions:
        headline = ", ".join(f"{k}={val:.3f}" for k, val in v.metrics.items() if isinstance(val, int | float))
        click.echo(f"{v.task:<12} v{v.version:<4} {v.status:<10} {headline}")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--queue", "queues", multiple=True, help="Queues to listen on (default: all).")
def worker(burst: bool, queues: tuple[str, ...]) -> None:
    """Run an RQ worker on the training, census and default queues."""
    from rq import Worker

    from jobs import queue

    conn = queue.connection()
    names = list(queues) or list(queue.QUEUES)
    click.echo(f"worker listening on {', '.join(names)}")
    Worker(names, connection=conn).work(burst=burst, with_scheduler=not burst)


def _ensure_sqlite_folder() -> None:
    url = current_app.config["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
