"""``widget-server`` commands about one visitor's number: forget it, block it, opt it back in.

Domain modules are imported when a command runs (``# start-up time``, see ``cli.py``).
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..phones import PhoneError, mask_phone, normalize_phone
from .cli_setup import setup_errors


def _number_arg(value: str) -> str:
    try:
        return normalize_phone(value)
    except PhoneError:
        raise click.ClickException(
            f"{value!r} is not a Russian mobile or landline number"
        ) from None


@click.command("forget-number")
@click.option("--owner", "owner_email", required=True, help="Owner's e-mail (account).")
@click.argument("number")
@with_appcontext
@setup_errors
def forget_number(owner_email: str, number: str) -> None:
    """Delete one visitor's requests, calls and notifications (all of this owner's)."""
    from .. import retention, setup  # start-up time

    try:
        phone = normalize_phone(number)
    except PhoneError:
        raise click.BadParameter(
            f"{number!r} is not a Russian phone number (like +7 916 123-45-67)",
            param_hint="NUMBER",
        ) from None
    deleted = retention.forget_number(setup.find_owner(owner_email).id, phone)
    click.echo(f"Deleted {deleted} request(s) for {mask_phone(phone)} with their calls.")


@click.command("block")
@click.option("--owner", "owner_email", required=True, help="Owner's e-mail.")
@click.argument("number")
@with_appcontext
@setup_errors
def block_number(owner_email: str, number: str) -> None:
    """Never call NUMBER from this owner's widgets (the requests are stored, not dialled)."""
    from .. import setup  # start-up time
    from ..abuse import blocklist  # start-up time

    phone = _number_arg(number)
    added = blocklist.block(phone, owner_id=setup.find_owner(owner_email).id, source="owner")
    click.echo(f"{mask_phone(phone)} {'blocked' if added else 'was already blocked'}.")


@click.command("unblock")
@click.option("--owner", "owner_email", required=True, help="Owner's e-mail.")
@click.argument("number")
@with_appcontext
@setup_errors
def unblock_number(owner_email: str, number: str) -> None:
    """Lift an owner's block of NUMBER."""
    from .. import setup  # start-up time
    from ..abuse import blocklist  # start-up time

    phone = _number_arg(number)
    lifted = blocklist.unblock(phone, owner_id=setup.find_owner(owner_email).id)
    click.echo(f"{mask_phone(phone)}: {'unblocked' if lifted else 'was not blocked'}.")


@click.command("opt-in")
@click.argument("number")
@with_appcontext
def opt_in(number: str) -> None:
    """Undo the public opt-out of NUMBER (only at its holder's request)."""
    from ..abuse import blocklist  # start-up time

    phone = _number_arg(number)
    lifted = blocklist.unblock(phone, owner_id=None)
    click.echo(f"{mask_phone(phone)}: {'opt-out lifted' if lifted else 'had not opted out'}.")


@click.command("report-junk")
@click.option("--owner", "owner_email", required=True, help="Owner's e-mail.")
@click.argument("request_id", type=int)
@with_appcontext
@setup_errors
def report_junk(owner_email: str, request_id: int) -> None:
    """Mark a request as junk: its number goes on the owner's block list."""
    from .. import setup  # start-up time
    from ..abuse import blocklist  # start-up time

    try:
        req = blocklist.report_junk(request_id, setup.find_owner(owner_email).id)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Request {req.id}: {mask_phone(req.phone)} is now blocked for this owner.")
