"""``widget-server`` commands that set a site up: owners, PBX accounts, widgets, notifications.

Domain modules are imported when a command runs (``# start-up time``, see ``cli.py``).
"""

from __future__ import annotations

import sys
from functools import wraps
from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import with_appcontext

from ..visitor.embed import snippets


def setup_errors(func):
    """A refused value or a PBX error ends the command with its message, no traceback."""

    @wraps(func)
    def wrapper(*args, **kwargs):
        from ..pbx.client import PbxError  # start-up time
        from ..setup import SetupError  # start-up time

        try:
            return func(*args, **kwargs)
        except SetupError as exc:
            raise click.ClickException(str(exc)) from None
        except PbxError as exc:
            raise click.ClickException(
                f"the PBX said: {exc.message} (result {exc.result})"
            ) from None

    return wrapper


@click.command("create-owner")
@click.argument("email")
@click.option(
    "--admin", is_flag=True, help="An installation admin: manages owners on the config page."
)
@with_appcontext
@setup_errors
def create_owner(email: str, admin: bool) -> None:
    """Create a site owner; the password is read from a prompt or stdin."""
    from .. import setup  # start-up time

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    owner = setup.create_owner(email, password, is_admin=admin)
    role = "admin" if owner.is_admin else "owner"
    click.echo(f"Owner {owner.email} created (id {owner.id}, {role}).")


@click.command("add-pbx")
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
@with_appcontext
@setup_errors
def add_pbx(owner_email, api_url, client_id, sign_key, domain, ca_bundle) -> None:
    """Connect a Rostelecom domain's integration API."""
    from .. import setup  # start-up time
    from ..pbx import directory  # start-up time

    account = directory.add_pbx(
        setup.find_owner(owner_email),
        api_url,
        client_id,
        sign_key,
        domain,
        ca_bundle.read() if ca_bundle else None,
    )
    click.echo(f"PBX account id: {account.id}")
    click.echo(f"Webhook base URL (Адрес внешней системы): {directory.webhook_base(account)}")


@click.command("sync-groups")
@click.argument("pbx_id")
@with_appcontext
@setup_errors
def sync_groups(pbx_id: str) -> None:
    """Fetch users and groups from the PBX (users_info)."""
    from ..pbx import directory  # start-up time

    account = directory.find_pbx(pbx_id)
    users, groups = directory.sync_groups(account)
    click.echo(f"{users} users, {groups} groups.")
    for group in account.groups:
        click.echo(
            f"  group {group.pin}: {group.name} — members {', '.join(group.member_pins) or '-'}"
        )


@click.command("add-widget")
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
@with_appcontext
@setup_errors
def add_widget(
    pbx_id, origins, groups, name, language, policy_url, ring_strategy, ring_timeout
) -> None:
    """Create a widget; prints its key and the embed snippet."""
    from .. import setup  # start-up time
    from ..pbx import directory  # start-up time

    widget = setup.add_widget(
        directory.find_pbx(pbx_id),
        list(origins),
        [setup.parse_group_arg(g) for g in groups],
        name=name,
        language=language,
        privacy_policy_url=policy_url,
        ring_strategy=ring_strategy,
        ring_timeout=ring_timeout,
    )
    tags = snippets(current_app.config["PUBLIC_URL"], widget.public_key)
    click.echo(f"Widget key: {widget.public_key}")
    click.echo("Embed snippet (always the latest widget):")
    click.echo(f"  {tags['latest']}")
    click.echo("Pinned snippet with Subresource Integrity:")
    click.echo(f"  {tags['pinned']}")
    click.echo("The latest widget, requested only after the page has loaded (an inline script):")
    click.echo(f"  {tags['after_load']}")


@click.command("set-notifications")
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
@with_appcontext
@setup_errors
def set_notifications(
    owner_email, email, no_email, webhook_url, no_webhook, digest, retention_days
) -> None:
    """Where an owner hears about missed, failed and held requests; retention."""
    from .. import setup  # start-up time

    owner = setup.find_owner(owner_email)
    try:
        secret = setup.configure_owner(
            owner,
            email=email,
            no_email=no_email,
            webhook_url=webhook_url,
            no_webhook=no_webhook,
            digest=digest,
            retention_days=retention_days,
        )
    except setup.SettingsError as exc:
        raise click.UsageError(str(exc)) from None
    mail = owner.notify_email or "off"
    if owner.notify_email and not current_app.config.get("SMTP_HOST"):
        mail += " (no mail is sent until WIDGET_SMTP_HOST is set)"
    click.echo(f"Notifications for {owner.email}:")
    click.echo(f"  e-mail: {mail}")
    click.echo(f"  webhook: {owner.webhook_url or 'off'}")
    click.echo(f"  daily digest: {'on' if owner.daily_digest else 'off'}")
    # Set on the profile page; the secrets in them are never printed.
    chat = owner.telegram_chat_name or owner.telegram_chat_id
    portal = urlsplit(owner.bitrix24_url).hostname if owner.bitrix24_url else None
    click.echo(f"  telegram: {'linked to ' + chat if chat else 'off'}")
    click.echo(f"  bitrix24: {portal or 'off'}")
    click.echo(f"  amocrm: {owner.amocrm_subdomain or 'off'}")
    click.echo(f"  requests kept for {owner.retention_days} days")
    if secret:
        click.echo(f"Webhook secret (shown once, keep it): {secret}")
        click.echo(
            "Each POST carries X-Widget-Signature: sha256=<hex HMAC-SHA256 of the raw body "
            "keyed with this secret>."
        )
