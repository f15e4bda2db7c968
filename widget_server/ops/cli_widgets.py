"""``widget-server`` commands that change a widget: hours, own limits, other countries.

Each calls the validator the config page uses, in ``setup``. Domain modules are
imported when a command runs (``# start-up time``, see ``cli.py``).
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..dispatch import schedule
from .cli_setup import setup_errors

# Where a refused hours setting points the user (``SetupError.field``).
_HOURS_OPTIONS = {"timezone": "--timezone", "days": "--day/--day-off"}


@click.command("set-hours")
@click.option("--widget", "widget_ref", required=True, help="Widget key (wk_…) or id.")
@click.option("--timezone", default=None, help="The widget's time zone, e.g. Asia/Yekaterinburg.")
@click.option(
    "--day",
    "days",
    multiple=True,
    help="DAY=HH:MM-HH:MM[,HH:MM-HH:MM…], e.g. mon=09:00-13:00,14:00-20:00; sat=closed. "
    "Days not given keep their hours.",
)
@click.option("--always-open", is_flag=True, help="00:00-24:00 every day.")
@click.option("--default-hours", is_flag=True, help="Back to the default Mon–Fri 09:00-20:00.")
@click.option("--day-off", "days_off", multiple=True, help="A date off, YYYY-MM-DD (repeatable).")
@click.option("--clear-days-off", is_flag=True, help="Forget the days off set before.")
@click.option(
    "--public-holidays/--no-public-holidays",
    default=None,
    help="Russian public holidays and moved days off close the widget (default: yes).",
)
@with_appcontext
@setup_errors
def set_hours(widget_ref, **change) -> None:
    """Set a widget's working hours, time zone and days off."""
    from .. import setup  # start-up time

    try:
        widget = setup.set_hours(widget_ref, **change)
    except setup.SetupError as exc:
        if exc.field == "mode":
            raise click.UsageError(str(exc)) from None
        if exc.field in _HOURS_OPTIONS:
            raise click.BadParameter(str(exc), param_hint=_HOURS_OPTIONS[exc.field]) from None
        raise
    click.echo(f"Widget {widget.public_key}:")
    click.echo(schedule.describe(widget))


@click.command("set-limits")
@click.option("--widget", "widget_key", required=True, help="Widget key.")
@click.option(
    "--per-number",
    default=None,
    help='Calls per number through this widget, e.g. "1/30minute;2/day".',
)
@click.option("--cap", default=None, help='Calls through this widget, e.g. "20/hour;100/day".')
@click.option("--reset", is_flag=True, help="Back to the installation's limits only.")
@with_appcontext
@setup_errors
def set_limits(widget_key: str, per_number: str | None, cap: str | None, reset: bool) -> None:
    """Tighten a widget's limits (they add to the installation's, never loosen them)."""
    from .. import setup  # start-up time
    from ..extensions import db  # start-up time

    chosen = {}
    for name, value in {"per_number": per_number, "cap": cap}.items():
        if value is not None:
            try:
                chosen[name] = setup.check_own_limit(name, value)
            except setup.SetupError as exc:
                raise click.ClickException(f"--{name.replace('_', '-')} {exc}") from None
    if not reset and not chosen:
        raise click.ClickException("give --per-number and/or --cap, or --reset")
    widget = setup.find_widget(widget_key)
    limits = {} if reset else dict(widget.limits or {})
    limits.update(chosen)
    widget.limits = limits
    db.session.commit()
    shown = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in limits.items()) or "none"
    click.echo(f"Widget {widget.public_key}: own limits {shown} (on top of the installation's).")


@click.command("set-countries")
@click.option("--widget", "widget_key", required=True, help="Widget key.")
@click.option("--none", "clear", is_flag=True, help="Russian numbers only again.")
@click.argument("countries", nargs=-1)
@with_appcontext
@setup_errors
def set_countries(widget_key: str, clear: bool, countries: tuple[str, ...]) -> None:
    """Let a widget call numbers of other countries: CC=DAILY_CAP, e.g. KZ=20 BY=10."""
    from .. import setup  # start-up time
    from ..extensions import db  # start-up time

    allowed = setup.parse_countries(list(countries))
    if not allowed and not clear:
        raise click.ClickException("give countries like KZ=20, or --none for Russian numbers only")
    widget = setup.find_widget(widget_key)
    widget.countries = {} if clear else allowed
    db.session.commit()
    shown = ", ".join(f"{c} (up to {n} a day)" for c, n in widget.countries.items())
    click.echo(
        f"Widget {widget.public_key} calls Russian numbers{' and ' + shown if shown else ' only'}."
    )
