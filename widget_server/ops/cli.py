"""The ``widget-server`` command.

A Flask ``AppGroup``: each command that needs the app runs inside its app
context, the app built once per invocation by ``create_app``. The commands are
thin: the work is done by ``setup``, ``pbx.directory``, ``retention`` and
``visitor.opt_out``, shared with the config page. Commands import those when they
run, not at the top (``# start-up time``): ``--help`` must not load the database
layer, which takes seconds on a busy machine.
"""

from __future__ import annotations

import os
import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup, ScriptInfo

from .. import create_app
from ..config import ConfigError, load_settings
from .cli_numbers import block_number, forget_number, opt_in, report_junk, unblock_number
from .cli_pbx import pbx_reconcile
from .cli_pbx_check import pbx_check
from .cli_setup import add_pbx, add_widget, create_owner, set_notifications, sync_groups
from .cli_widgets import set_countries, set_hours, set_limits


def _create_app(*, web: bool = True) -> Flask:
    try:
        return create_app(web=web)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group(cls=AppGroup)
@click.version_option(package_name="widget-server")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Self-hosted "call me back" widget on the Rostelecom Virtual PBX API."""
    # with_appcontext finds this and builds the app on first use (our factory, no .env).
    ctx.obj = ScriptInfo(create_app=_create_app, set_debug_flag=False)


for _command in (
    create_owner,
    add_pbx,
    sync_groups,
    add_widget,
    set_hours,
    set_notifications,
    forget_number,
    set_limits,
    set_countries,
    block_number,
    unblock_number,
    opt_in,
    report_junk,
    pbx_reconcile,
    pbx_check,
):
    main.add_command(_command)


@main.command("init-db")
def init_db() -> None:
    """Apply database migrations (safe to run again)."""
    from ..database import upgrade_to_head  # start-up time

    upgrade_to_head(current_app.config["SQLALCHEMY_DATABASE_URI"])
    click.echo("Database is up to date.")


@main.command(with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def run(host: str, port: int) -> None:
    """Production server: gunicorn plus the task queue (in its web worker when it has one)."""
    from .server import check_production_settings  # start-up time

    try:
        check_production_settings(load_settings())
    except (ConfigError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None
    # The queue's app is enough to know the database: no blueprints built just for a check.
    _refuse_an_unready_database(_create_app(web=False).config["SQLALCHEMY_DATABASE_URI"])
    # This process becomes gunicorn's master without the command line's modules loaded.
    server = [sys.executable, "-m", "widget_server.ops.server", "--host", host, "--port", str(port)]
    os.execv(sys.executable, server)  # noqa: S606 - our own interpreter and module, no shell


def _refuse_an_unready_database(uri: str) -> None:
    """Every request and job would fail on a database without this release's tables: say so
    once, at start, instead of in each of their logs. (``run`` then execs the server: what it
    loaded for the check is gone.)"""
    from ..database import schema_problem  # start-up time

    problem = schema_problem(uri)
    if problem:
        raise click.ClickException(f"Not starting: {problem}.")


@main.command(with_appcontext=False)
def worker() -> None:
    """Task-queue worker alone (for deployments with several machines)."""
    from .worker import run_worker  # start-up time

    # The queue's app only: no blueprints, so this process never loads the web's parts.
    app = _create_app(web=False)
    _refuse_an_unready_database(app.config["SQLALCHEMY_DATABASE_URI"])
    with app.app_context():
        run_worker(app)


@main.command("pbx-sim", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8002, show_default=True, type=int)
def pbx_sim(host: str, port: int) -> None:
    """Built-in Rostelecom-compatible PBX simulator (settings: WIDGET_SIM_*)."""
    from ..pbx.sim import run_sim, sim_config_from_env  # start-up time

    click.echo(f"PBX simulator on http://{host}:{port}")
    run_sim(host, port, sim_config_from_env())


@main.command(with_appcontext=False)
@click.option("--service-port", default=8000, show_default=True, type=int)
@click.option("--shop-port", default=8001, show_default=True, type=int)
@click.option("--sim-port", default=8002, show_default=True, type=int)
def demo(service_port: int, shop_port: int, sim_port: int) -> None:
    """Everything on this machine: service, sample shop and PBX simulator."""
    from ..dev.demo import run_demo  # start-up time

    run_demo(service_port, shop_port, sim_port)


if __name__ == "__main__":  # pragma: no cover
    main()
