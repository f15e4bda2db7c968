"""The ``widget-server`` command."""

from __future__ import annotations

import sys

import click

from .config import ConfigError


def _app():
    from . import create_app

    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _fail_on_setup_error(func):
    from functools import wraps

    from .pbx_client import PbxError
    from .provisioning import SetupError

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
    from .database import upgrade_to_head

    app = _app()
    upgrade_to_head(app.config["SQLALCHEMY_DATABASE_URI"])
    click.echo("Database is up to date.")


@main.command("create-owner")
@click.argument("email")
@_fail_on_setup_error
def create_owner(email: str) -> None:
    """Create a site owner; the password is read from a prompt or stdin."""
    from .provisioning import create_owner as create

    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    with _app().app_context():
        owner = create(email, password)
        click.echo(f"Owner {owner.email} created (id {owner.id}).")


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
    from .provisioning import add_pbx as add
    from .provisioning import find_owner, webhook_base

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
    from .provisioning import find_pbx
    from .provisioning import sync_groups as sync

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
    from .embed_assets import snippets
    from .provisioning import add_widget as add
    from .provisioning import find_pbx, parse_group_arg

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
    from .pbx_sim import run_sim, sim_config_from_env

    click.echo(f"PBX simulator on http://{host}:{port}")
    run_sim(host, port, sim_config_from_env())


@main.command()
@click.option("--service-port", default=8000, show_default=True, type=int)
@click.option("--shop-port", default=8001, show_default=True, type=int)
@click.option("--sim-port", default=8002, show_default=True, type=int)
def demo(service_port: int, shop_port: int, sim_port: int) -> None:
    """Everything on this machine: service, sample shop and PBX simulator."""
    from .demo import run_demo

    run_demo(service_port, shop_port, sim_port)


if __name__ == "__main__":  # pragma: no cover
    main()
