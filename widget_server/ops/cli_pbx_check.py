"""``widget-server pbx-check``: the guided first call from the command line.

Domain modules are imported when the command runs (``# start-up time``, see ``cli.py``).
"""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import with_appcontext

from .cli_setup import setup_errors

POLL_SECONDS = 2


@click.command("pbx-check")
@click.argument("pbx_id")
@click.option("--phone", help="The number to ring (default: the owner's phone from the profile).")
@click.option(
    "--wait",
    type=click.IntRange(0, 3600),
    default=180,
    show_default=True,
    help="Seconds to wait for the call to end.",
)
@click.option("--lang", type=click.Choice(["ru", "en"]), default="ru", show_default=True)
@with_appcontext
@setup_errors
def pbx_check(pbx_id: str, phone: str | None, wait: int, lang: str) -> None:
    """Ring a test call, learn the PBX's dialect from it, set it on the account."""
    from flask_babel import force_locale  # start-up time

    from ..dispatch import first_call  # start-up time
    from ..extensions import db  # start-up time
    from ..pbx import directory  # start-up time
    from ..pbx.dialect_words import findings_words  # start-up time
    from ..phones import PhoneError, normalize_phone  # start-up time
    from ..visitor import intake  # start-up time

    account = directory.find_pbx(pbx_id)
    try:
        number = normalize_phone(phone or account.owner.phone or "")
    except PhoneError:
        raise click.BadParameter(
            "give a number, or set one on the profile page", "--phone"
        ) from None
    result = first_call.start(
        account,
        number,
        origin=current_app.config["PUBLIC_URL"],
        client_ip=None,
        note="pbx-check: the owner's test call from the command line",
    )
    if result is None:
        raise click.ClickException("the account has no widget to place the test call through")
    if not isinstance(result, intake.Accepted):
        raise click.ClickException(f"the test call was refused: {result.message(lang)}")
    click.echo(f"Test call ordered (request {result.request_id}); waiting for it to end…")
    deadline = time.monotonic() + wait
    while True:
        db.session.expire_all()
        req = first_call.test_request(account, result.request_id)
        found = first_call.finish(account, req)
        if found is not None or time.monotonic() >= deadline:
            break
        time.sleep(POLL_SECONDS)
    if found is None:
        raise click.ClickException(f"the call is still going on (status {req.status})")
    with force_locale(lang):
        for line in findings_words(found):
            click.echo(f"- {line}")
