"""The ``widget-server`` command."""

from __future__ import annotations

import sys

import click

from ..config import ConfigError


def _app():
    from .. import create_app

    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _fail_on_setup_error(func):
    from functools import wraps

    from ..pbx.client import PbxError
    from ..setup import SetupError

    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except SetupError as exc:
            raise click.ClickException(str(exc)) from None
        except PbxError as exc:
            raise click.ClickException(
                f"the PBX said: {exc.message} (result {exc.result})"
            ) from None

    return wrapper


@click.group()
@click.version_option(package_name="widget-server")
def main() -> None:
    """Self-hosted "call me back" widget on the Rostelecom Virtual PBX API."""


@main.command("init-db")
def init_db() -> None:
    """Apply database migrations (safe to run again)."""
    from ..database import upgrade_to_head

    app = _app()
    upgrade_to_head(app.config["SQLALCHEMY_DATABASE_URI"])
    click.echo("Database is up to date.")


@main.command("create-owner")
@click.argument("email")
@click.option(
    "--admin", is_flag=True, help="An installation admin: manages owners on the config page."
)
@_fail_on_setup_error
def create_owner(email: str, admin: bool) -> None:
    """Create a site owner; the password is read from a prompt or stdin."""
    from ..setup import create_owner as create

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    with _app().app_context():
        owner = create(email, password, is_admin=admin)
        role = "admin" if owner.is_admin else "owner"
        click.echo(f"Owner {owner.email} created (id {owner.id}, {role}).")


@main.command("add-pbx")
@click.option("--owner", "owner_email", required=True, help="Owner's e-mail.")
@click.option(
    "--api-url", required=True, help="https://api.cloudpbx.rt.ru, the test host, or the simulator."
)
@click.option(
    "--client-id", required=True, help="'Уникальный код идентификации' from the admin panel."
)
@click.option(
    "--sign-key", required=True, help="'Уникальный ключ для подписи' from the admin panel."
)
@click.option("--domain", default=None, help="The ВАТС domain, e.g. example.20.rt.ru.")
@click.option(
    "--ca-bundle", type=click.File("r"), default=None, help="PEM file with the Russian Trusted CA."
)
@_fail_on_setup_error
def add_pbx(owner_email, api_url, client_id, sign_key, domain, ca_bundle) -> None:
    """Connect a Rostelecom domain's integration API."""
    from ..setup import add_pbx as add
    from ..setup import find_owner, webhook_base

    with _app().app_context():
        account = add(
            find_owner(owner_email),
            api_url,
            client_id,
            sign_key,
            domain,
            ca_bundle.read() if ca_bundle else None,
        )
        click.echo(f"PBX account id: {account.id}")
        click.echo(f"Webhook base URL (Адрес внешней системы): {webhook_base(account)}")


@main.command("sync-groups")
@click.argument("pbx_id")
@_fail_on_setup_error
def sync_groups(pbx_id: str) -> None:
    """Fetch users and groups from the PBX (users_info)."""
    from ..setup import find_pbx
    from ..setup import sync_groups as sync

    with _app().app_context():
        account = find_pbx(pbx_id)
        users, groups = sync(account)
        click.echo(f"{users} users, {groups} groups.")
        for group in account.groups:
            click.echo(
                f"  group {group.pin}: {group.name} — members {', '.join(group.member_pins) or '-'}"
            )


@main.command("add-widget")
@click.option("--pbx", "pbx_id", required=True, help="PBX account id.")
@click.option(
    "--origin",
    "origins",
    multiple=True,
    required=True,
    help="Allowed site, e.g. https://shop.example.",
)
@click.option(
    "--group", "groups", multiple=True, required=True, help="PIN or PIN=Label, in display order."
)
@click.option("--name", default="", help="A name for the owner's own reference.")
@click.option("--language", default="ru", type=click.Choice(["ru", "en"]))
@click.option("--policy-url", default=None, help="The owner's privacy-policy page.")
@click.option(
    "--ring-strategy",
    default="sequential",
    type=click.Choice(["sequential", "round_robin", "random", "pbx_group"]),
)
@click.option("--ring-timeout", default=25, type=int, help="Seconds to ring each operator.")
@_fail_on_setup_error
def add_widget(
    pbx_id, origins, groups, name, language, policy_url, ring_strategy, ring_timeout
) -> None:
    """Create a widget; prints its key and the embed snippet."""
    from ..setup import add_widget as add
    from ..setup import find_pbx, parse_group_arg
    from ..visitor.embed import snippets

    app = _app()
    with app.app_context():
        widget = add(
            find_pbx(pbx_id),
            list(origins),
            [parse_group_arg(g) for g in groups],
            name=name,
            language=language,
            privacy_policy_url=policy_url,
            ring_strategy=ring_strategy,
            ring_timeout=ring_timeout,
        )
        tags = snippets(app.config["PUBLIC_URL"], widget.public_key)
        click.echo(f"Widget key: {widget.public_key}")
        click.echo("Embed snippet (always the latest widget):")
        click.echo(f"  {tags['latest']}")
        click.echo("Pinned snippet with Subresource Integrity:")
        click.echo(f"  {tags['pinned']}")


@main.command("set-hours")
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
def set_hours(
    widget_ref,
    timezone,
    days,
    always_open,
    default_hours,
    days_off,
    clear_days_off,
    public_holidays,
) -> None:
    """Set a widget's working hours, time zone and days off."""
    from sqlalchemy import select

    from ..dispatch import schedule as wh
    from ..extensions import db
    from ..models import Widget

    if sum(map(bool, (days, always_open, default_hours))) > 1:
        raise click.UsageError("use only one of --day, --always-open and --default-hours")
    if timezone is not None and wh.valid_timezone(timezone) is None:
        raise click.BadParameter(
            f"{timezone!r} is not a known time zone (like Europe/Moscow)", param_hint="--timezone"
        )
    try:
        changes = [wh.parse_day_arg(d) for d in days]
        new_days_off = wh.parse_days_off(days_off)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--day/--day-off") from None
    with _app().app_context():
        ref = widget_ref.strip()
        widget = db.session.scalar(select(Widget).where(Widget.public_key == ref))
        if widget is None and ref.isdigit():
            widget = db.session.get(Widget, int(ref))
        if widget is None:
            raise click.ClickException(f"no widget {ref}")
        if always_open:
            widget.hours = wh.parse_hours(wh.ALWAYS_OPEN)
        elif default_hours:
            widget.hours = None
        elif changes:
            week = wh.parse_hours(widget.hours if widget.hours is not None else wh.DEFAULT_HOURS)
            week.update(changes)
            widget.hours = week
        if timezone is not None:
            widget.timezone = timezone
        if clear_days_off or new_days_off:
            kept = [] if clear_days_off else list(widget.days_off or [])
            widget.days_off = wh.parse_days_off([*kept, *new_days_off])
        if public_holidays is not None:
            widget.public_holidays = public_holidays
        db.session.commit()
        click.echo(f"Widget {widget.public_key}:")
        click.echo(wh.describe(widget))


@main.command("set-notifications")
@click.option("--owner", "owner_email", required=True, help="Owner's e-mail (account).")
@click.option("--email", default=None, help="Send notifications to this address.")
@click.option("--no-email", is_flag=True, help="Stop e-mail notifications.")
@click.option(
    "--webhook-url", default=None, help="POST signed JSON here (https://; a new secret each time)."
)
@click.option("--no-webhook", is_flag=True, help="Stop webhook notifications.")
@click.option("--digest/--no-digest", default=None, help="Daily summary at 08:00 Moscow time.")
@click.option(
    "--retention-days",
    type=click.IntRange(1, 3650),
    default=None,
    help="Delete requests (numbers, consent) older than this many days (default 30).",
)
@_fail_on_setup_error
def set_notifications(
    owner_email, email, no_email, webhook_url, no_webhook, digest, retention_days
) -> None:
    """Where an owner hears about missed, failed and held requests; retention."""
    from ..notify import outbox as notifications

    app = _app()
    with app.app_context():
        from ..setup import find_owner

        owner = find_owner(owner_email)
        try:
            secret = notifications.configure_owner(
                owner,
                email=email,
                no_email=no_email,
                webhook_url=webhook_url,
                no_webhook=no_webhook,
                digest=digest,
                retention_days=retention_days,
            )
        except notifications.SettingsError as exc:
            raise click.UsageError(str(exc)) from None
        mail = owner.notify_email or "off"
        if owner.notify_email and not app.config.get("SMTP_HOST"):
            mail += " (no mail is sent until WIDGET_SMTP_HOST is set)"
        click.echo(f"Notifications for {owner.email}:")
        click.echo(f"  e-mail: {mail}")
        click.echo(f"  webhook: {owner.webhook_url or 'off'}")
        click.echo(f"  daily digest: {'on' if owner.daily_digest else 'off'}")
        click.echo(f"  requests kept for {owner.retention_days} days")
        if secret:
            click.echo(f"Webhook secret (shown once, keep it): {secret}")
            click.echo(
                "Each POST carries X-Widget-Signature: sha256=<hex HMAC-SHA256 of the raw body "
                "keyed with this secret>."
            )


@main.command("forget-number")
@click.option("--owner", "owner_email", required=True, help="Owner's e-mail (account).")
@click.argument("number")
@_fail_on_setup_error
def forget_number(owner_email: str, number: str) -> None:
    """Delete one visitor's requests, calls and notifications (all of this owner's)."""
    from ..phones import PhoneError, mask_phone, normalize_phone
    from ..retention import forget_number as forget

    try:
        phone = normalize_phone(number)
    except PhoneError:
        raise click.BadParameter(
            f"{number!r} is not a Russian phone number (like +7 916 123-45-67)",
            param_hint="NUMBER",
        ) from None
    with _app().app_context():
        from ..setup import find_owner

        owner_id = find_owner(owner_email).id
        deleted = forget(owner_id, phone)
        click.echo(f"Deleted {deleted} request(s) for {mask_phone(phone)} with their calls.")


@main.command("set-limits")
@click.option("--widget", "widget_key", required=True, help="Widget key.")
@click.option(
    "--per-number",
    default=None,
    help='Calls per number through this widget, e.g. "1/30minute;2/day".',
)
@click.option("--cap", default=None, help='Calls through this widget, e.g. "20/hour;100/day".')
@click.option("--reset", is_flag=True, help="Back to the installation's limits only.")
def set_limits(widget_key: str, per_number: str | None, cap: str | None, reset: bool) -> None:
    """Tighten a widget's limits (they add to the installation's, never loosen them)."""
    from limits import parse_many
    from sqlalchemy import select

    from ..extensions import db
    from ..models import Widget

    chosen = {"per_number": per_number, "cap": cap}
    for name, value in chosen.items():
        if value is not None:
            try:
                parse_many(value)
            except ValueError:
                raise click.ClickException(
                    f"--{name.replace('_', '-')} {value!r}: expected limits like 20/hour;100/day"
                ) from None
    if not reset and per_number is None and cap is None:
        raise click.ClickException("give --per-number and/or --cap, or --reset")
    with _app().app_context():
        widget = db.session.scalar(select(Widget).where(Widget.public_key == widget_key))
        if widget is None:
            raise click.ClickException(f"no widget {widget_key}")
        limits = {} if reset else dict(widget.limits or {})
        limits.update({k: v for k, v in chosen.items() if v is not None})
        widget.limits = limits
        db.session.commit()
        shown = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in limits.items()) or "none"
        click.echo(
            f"Widget {widget.public_key}: own limits {shown} (on top of the installation's)."
        )


@main.command("set-countries")
@click.option("--widget", "widget_key", required=True, help="Widget key.")
@click.option("--none", "clear", is_flag=True, help="Russian numbers only again.")
@click.argument("countries", nargs=-1)
def set_countries(widget_key: str, clear: bool, countries: tuple[str, ...]) -> None:
    """Let a widget call numbers of other countries: CC=DAILY_CAP, e.g. KZ=20 BY=10."""
    import phonenumbers
    from sqlalchemy import select

    from ..extensions import db
    from ..models import Widget

    allowed: dict[str, int] = {}
    for item in countries:
        code, _, cap = item.partition("=")
        code = code.strip().upper()
        if code == "RU" or not phonenumbers.country_code_for_region(code):
            raise click.ClickException(
                f"{item!r}: expected a country code other than RU, like KZ=20"
            )
        if not cap.isdigit() or not 1 <= int(cap) <= 1000:
            raise click.ClickException(f"{item!r}: the daily cap must be a number from 1 to 1000")
        allowed[code] = int(cap)
    if not allowed and not clear:
        raise click.ClickException("give countries like KZ=20, or --none for Russian numbers only")
    with _app().app_context():
        widget = db.session.scalar(select(Widget).where(Widget.public_key == widget_key))
        if widget is None:
            raise click.ClickException(f"no widget {widget_key}")
        widget.countries = {} if clear else allowed
        db.session.commit()
        shown = ", ".join(f"{c} (up to {n} a day)" for c, n in widget.countries.items())
        click.echo(
            f"Widget {widget.public_key} calls Russian numbers{' and ' + shown if shown else ' only'}."
        )


def _number_arg(value: str) -> str:
    from ..phones import PhoneError, normalize_phone

    try:
        return normalize_phone(value)
    except PhoneError:
        raise click.ClickException(
            f"{value!r} is not a Russian mobile or landline number"
        ) from None


@main.command("block")
@click.option("--owner", "owner_email", required=True, help="Owner's e-mail.")
@click.argument("number")
@_fail_on_setup_error
def block_number(owner_email: str, number: str) -> None:
    """Never call NUMBER from this owner's widgets (the requests are stored, not dialled)."""
    from ..abuse.blocklist import block
    from ..phones import mask_phone
    from ..setup import find_owner

    phone = _number_arg(number)
    with _app().app_context():
        added = block(phone, owner_id=find_owner(owner_email).id, source="owner")
        click.echo(f"{mask_phone(phone)} {'blocked' if added else 'was already blocked'}.")


@main.command("unblock")
@click.option("--owner", "owner_email", required=True, help="Owner's e-mail.")
@click.argument("number")
@_fail_on_setup_error
def unblock_number(owner_email: str, number: str) -> None:
    """Lift an owner's block of NUMBER."""
    from ..abuse.blocklist import unblock
    from ..phones import mask_phone
    from ..setup import find_owner

    phone = _number_arg(number)
    with _app().app_context():
        lifted = unblock(phone, owner_id=find_owner(owner_email).id)
        click.echo(f"{mask_phone(phone)}: {'unblocked' if lifted else 'was not blocked'}.")


@main.command("opt-in")
@click.argument("number")
def opt_in(number: str) -> None:
    """Undo the public opt-out of NUMBER (only at its holder's request)."""
    from ..abuse.blocklist import unblock
    from ..phones import mask_phone

    phone = _number_arg(number)
    with _app().app_context():
        lifted = unblock(phone, owner_id=None)
        click.echo(f"{mask_phone(phone)}: {'opt-out lifted' if lifted else 'had not opted out'}.")


@main.command("report-junk")
@click.option("--owner", "owner_email", required=True, help="Owner's e-mail.")
@click.argument("request_id", type=int)
@_fail_on_setup_error
def report_junk(owner_email: str, request_id: int) -> None:
    """Mark a request as junk: its number goes on the owner's block list."""
    from ..abuse.blocklist import report_junk as report
    from ..phones import mask_phone
    from ..setup import find_owner

    with _app().app_context():
        try:
            req = report(request_id, find_owner(owner_email).id)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Request {req.id}: {mask_phone(req.phone)} is now blocked for this owner.")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def run(host: str, port: int) -> None:
    """Production server: gunicorn plus the task-queue worker."""
    from .server import run_production

    try:
        run_production(host, port)
    except (ConfigError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
def worker() -> None:
    """Task-queue worker alone (for deployments with several machines)."""
    from .server import run_worker

    run_worker(_app())


@main.command("pbx-sim")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8002, show_default=True, type=int)
def pbx_sim(host: str, port: int) -> None:
    """Built-in Rostelecom-compatible PBX simulator (settings: WIDGET_SIM_*)."""
    from ..pbx.sim import run_sim, sim_config_from_env

    click.echo(f"PBX simulator on http://{host}:{port}")
    run_sim(host, port, sim_config_from_env())


@main.command()
@click.option("--service-port", default=8000, show_default=True, type=int)
@click.option("--shop-port", default=8001, show_default=True, type=int)
@click.option("--sim-port", default=8002, show_default=True, type=int)
def demo(service_port: int, shop_port: int, sim_port: int) -> None:
    """Everything on this machine: service, sample shop and PBX simulator."""
    from ..dev.demo import run_demo

    run_demo(service_port, shop_port, sim_port)


if __name__ == "__main__":  # pragma: no cover
    main()
