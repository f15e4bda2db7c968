"""``widget-server demo``: the whole product on one machine, against the PBX simulator."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from .. import create_app, setup
from ..database import release, upgrade_to_head
from ..dispatch.schedule import ALWAYS_OPEN
from ..extensions import db
from ..instance import private_dir, write_private
from ..models import Owner, PbxAccount, Widget
from ..pbx import directory
from .mail import start_mailbox
from .sample_shop import create_shop_app

SERVICE_PORT, SHOP_PORT, SIM_PORT = 8000, 8001, 8002
HOST = "127.0.0.1"
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo-password"  # noqa: S105 - the demo's published sign-in
DEMO_CLIENT_ID = "DEMO0000000000000000000000000001"
DEMO_SIGN_KEY = "DEMOKEY0000000000000000000000001"  # noqa: S105 - simulator-only key

TEST_NUMBERS = [
    ("+7 900 000-00-01", "no operator answers"),
    ("+7 900 000-00-02", "visitor's line is busy"),
    ("+7 900 000-00-03", "visitor does not answer"),
    ("+7 900 000-00-04", "call_back refused by the PBX (result -20)"),
    ("+7 900 000-00-05", "PBX slower than our timeout"),
    ("+7 900 000-00-06", "PBX down (HTTP 503): retried for 15 min, then failed"),
    ("+7 900 000-00-07", "first operator does not answer, the next one does"),
    ("any other valid number", "connects normally"),
]


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def _wait_for(url: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not start within {seconds:.0f} s")


def _demo_environment(
    service_port: int, shop_port: int = SHOP_PORT, sim_port: int = SIM_PORT
) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("WIDGET_DEV", "1")
    env.setdefault("WIDGET_PUBLIC_URL", f"http://{HOST}:{service_port}")
    # What makes this installation a demo (dev/installation.py): the sample shop shows any
    # widget, new widgets skip the first week's cap, the PBX form offers the simulator.
    env.setdefault("WIDGET_DEMO_SHOP", f"http://{HOST}:{shop_port}")
    env.setdefault("WIDGET_DEMO_PBX", f"http://{HOST}:{sim_port}")
    # The demo only rings the simulator: it takes calls at any hour of any day.
    env.setdefault("WIDGET_NIGHT_GUARD", "0")
    # The simulator and the sample shop listen on this machine.
    env.setdefault("WIDGET_ALLOW_PRIVATE_NETWORKS", "1")
    if not env.get("WIDGET_SECRET_KEY"):
        # A per-machine random key, kept so a second run keeps working.
        instance = Path(env.get("WIDGET_INSTANCE_PATH") or _default_instance())
        private_dir(instance)
        key_file = instance / "demo-secret-key"
        if not key_file.exists():
            write_private(key_file, secrets.token_hex(32))
        env["WIDGET_SECRET_KEY"] = key_file.read_text().strip()
    return env


def _default_instance() -> str:
    """Flask's instance folder for this package, as ``create_app`` would pick it."""
    from flask import Flask

    return Flask("widget_server").instance_path


def _setup(env: dict[str, str], sim_url: str) -> tuple[Flask, str, str]:
    """Migrate, then create (or reuse) the demo owner and PBX account.

    The one app this process builds: ``_finish_setup`` goes on with it, then lets its
    connections go before the servers start (``database.release``).
    """
    os.environ.update({k: v for k, v in env.items() if k.startswith("WIDGET_")})
    app = create_app()
    upgrade_to_head(app.config["SQLALCHEMY_DATABASE_URI"])
    with app.app_context():
        owner = db.session.scalar(select(Owner).where(Owner.email == DEMO_EMAIL))
        if owner is None:
            owner = setup.create_owner(DEMO_EMAIL, DEMO_PASSWORD)
        if not owner.is_admin:
            # The demo's one owner manages the installation, Users page included.
            owner.is_admin = True
            db.session.commit()
        account = db.session.scalar(
            select(PbxAccount).where(
                PbxAccount.owner_id == owner.id,
                PbxAccount.api_url == sim_url,
                PbxAccount.client_id == DEMO_CLIENT_ID,
            )
        )
        if account is None:
            account = directory.add_pbx(
                owner, sim_url, DEMO_CLIENT_ID, DEMO_SIGN_KEY, "demo.cloudpbx.rt.ru"
            )
        return app, account.public_id, directory.webhook_base(account)


def _finish_setup(app: Flask, public_id: str, shop_origin: str) -> str:
    """Fetch the simulator's directory, then create (or reuse) the demo widget."""
    with app.app_context():
        account = directory.find_pbx(public_id)
        directory.sync_groups(account)
        widgets = db.session.scalars(select(Widget).where(Widget.pbx_account_id == account.id))
        widget = next((w for w in widgets if shop_origin in (w.origins or [])), None)
        if widget is None:
            widget = setup.add_widget(
                account,
                [shop_origin],
                [("101", "Отдел продаж"), ("102", "Сервис")],
                name="Демо-магазин",
                privacy_policy_url=f"{shop_origin}/privacy",
                ring_timeout=20,
            )
        widget.hours, widget.public_holidays = ALWAYS_OPEN, False
        db.session.commit()
        return widget.public_key


def run_demo(
    service_port: int = SERVICE_PORT, shop_port: int = SHOP_PORT, sim_port: int = SIM_PORT
) -> None:
    """Set everything up, start the three servers, print their addresses, stop on Ctrl-C."""
    busy = [p for p in (service_port, shop_port, sim_port) if not _port_free(p)]
    if busy:
        sys.exit(
            f"Ports {', '.join(map(str, busy))} are in use. Is another demo running? Stop it first."
        )
    shop_origin, sim_url = f"http://{HOST}:{shop_port}", f"http://{HOST}:{sim_port}"
    env = _demo_environment(service_port, shop_port, sim_port)
    mailbox = None
    if not env.get("WIDGET_SMTP_HOST"):
        # E-mail works in the demo: owners hear of missed requests, the console shows it.
        mailbox = start_mailbox(HOST)
        env.update(
            WIDGET_SMTP_HOST=HOST,
            WIDGET_SMTP_PORT=str(mailbox.server_address[1]),
            WIDGET_SMTP_SECURITY="none",
            WIDGET_SMTP_FROM="widget-server@demo.example",
        )
    app, public_id, hook_base = _setup(env, sim_url)
    cli = [sys.executable, "-m", "widget_server.ops.cli"]
    sim_env = dict(
        env,
        WIDGET_SIM_CLIENT_ID=DEMO_CLIENT_ID,
        WIDGET_SIM_SIGN_KEY=DEMO_SIGN_KEY,
        WIDGET_SIM_DOMAIN="demo.cloudpbx.rt.ru",
        WIDGET_SIM_WEBHOOK_BASE=hook_base,
    )
    children = [
        subprocess.Popen([*cli, "pbx-sim", "--host", HOST, "--port", str(sim_port)], env=sim_env)
    ]
    try:
        _wait_for(f"{sim_url}/_sim/calls")
        widget_key = _finish_setup(app, public_id, shop_origin)
        # The service's processes own the database from here: this one keeps no connection.
        release(app)
        children.append(
            subprocess.Popen([*cli, "run", "--host", HOST, "--port", str(service_port)], env=env)
        )
        shop = make_server(
            HOST, shop_port, create_shop_app(env["WIDGET_PUBLIC_URL"], widget_key), threaded=True
        )
        threading.Thread(target=shop.serve_forever, daemon=True).start()
        _wait_for(f"{env['WIDGET_PUBLIC_URL']}/embed.js")
        _banner(env["WIDGET_PUBLIC_URL"], widget_key, shop_origin, sim_url, mailbox is not None)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("A demo process stopped unexpectedly; shutting down.", file=sys.stderr)
    except KeyboardInterrupt:
        print("\nStopping…")
    finally:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        if mailbox is not None:
            mailbox.shutdown()


def _banner(
    service_url: str, widget_key: str, shop_origin: str, sim_url: str, mailbox: bool = False
) -> None:
    print()
    print("widget_server demo is running")
    print(f"  Sample shop (open this):  {shop_origin}/")
    print(f"    any widget of the demo: {shop_origin}/?key=<widget key> (its page has a button)")
    print(f"  Same shop, strict CSP:    {shop_origin}/csp")
    print(f"  Service:                  {service_url}/  (API: {service_url}/api/v1/openapi.json)")
    print(f"  Config page:              {service_url}/admin/  ({DEMO_EMAIL} / {DEMO_PASSWORD})")
    print(f"  PBX simulator:            {sim_url}/  (calls: {sim_url}/_sim/calls)")
    print(f"  Another owner's PBX:      {sim_url}/_sim/panel  (makes a client id and key)")
    print(f"    or the demo's pair:     {DEMO_CLIENT_ID} / {DEMO_SIGN_KEY} (events go to the demo)")
    print(f"  Widget key:               {widget_key}")
    if mailbox:
        print("  E-mail to owners:         printed here (Demo mail to …), never sent")
    print("  Test numbers (any other valid Russian number connects):")
    for number, meaning in TEST_NUMBERS:
        print(f"    {number:<24} {meaning}")
    print("Press Ctrl-C to stop.", flush=True)
