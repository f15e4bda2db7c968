"""``widget-server`` commands about a connected PBX: reconciling with its call journal.

Domain modules are imported when a command runs (``# start-up time``, see ``cli.py``).
"""

from __future__ import annotations

import time
from datetime import date, timedelta

import click
from flask.cli import with_appcontext

from .cli_setup import setup_errors

POLL_SECONDS = 15


@click.command("pbx-reconcile")
@click.argument("pbx_id")
@click.option("--day", help="A Moscow calendar day, YYYY-MM-DD (default: yesterday).")
@click.option(
    "--wait",
    type=click.IntRange(0, 3600),
    default=600,
    show_default=True,
    help="Seconds to wait for the PBX to make the file (it takes minutes).",
)
@with_appcontext
@setup_errors
def pbx_reconcile(pbx_id: str, day: str | None, wait: int) -> None:
    """Order a day's call journal, settle calls whose events were lost, list unknown calls."""
    from ..dispatch import reconcile  # start-up time
    from ..extensions import db  # start-up time
    from ..models import PbxJournal, utcnow  # start-up time
    from ..pbx import directory  # start-up time
    from ..pbx.journal import MOSCOW_OFFSET  # start-up time

    account = directory.find_pbx(pbx_id)
    today = (utcnow() + MOSCOW_OFFSET).date()
    try:
        chosen = date.fromisoformat(day) if day else today - timedelta(days=1)
    except ValueError:
        raise click.BadParameter("use YYYY-MM-DD", param_hint="--day") from None
    if chosen > today:
        raise click.BadParameter("the day has not come yet", param_hint="--day")
    run = reconcile.reconcile_now(account, *reconcile.moscow_day(chosen))
    deadline = time.monotonic() + wait
    while run.status == "ordered" and time.monotonic() < deadline:
        click.echo(f"Waiting for the PBX to make the journal (order {run.order_id})…")
        time.sleep(POLL_SECONDS)
        reconcile.fetch_journal(run.id)
        db.session.expire_all()
        run = db.session.get(PbxJournal, run.id)
    _report(run)


def _report(run) -> None:
    if run.status == "ordered":
        click.echo(f"Still not ready; the worker reconciles order {run.order_id} when it is.")
        return
    if run.status == "failed":
        raise click.ClickException(f"reconciliation failed: {run.error}")
    unknown = run.unknown_calls or []
    click.echo(
        f"{run.rows} calls in the journal, {run.matched} ours, {run.settled} settled, "
        f"{len(unknown)} unknown to us."
    )
    for call in unknown:
        click.echo(
            f"  unknown: {call['started_at']} UTC, operator {call['operator_pin'] or '-'}, "
            f"visitor {call['visitor']}, request {call['request_id']}, "
            f"session {call['session_id']}"
        )
