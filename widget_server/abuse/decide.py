"""What limits a number: every reason a callback request is refused or held, in order.

A **refusal** stores nothing and the visitor sees an error. A **hold** stores the
request but never dials it, and the visitor is answered like any accepted request
(a bot or a blocked caller learns nothing from the answer).

0. Per-IP HTTP limits: decorators on the route (``visitor/api.py``). Refuse, 429.
1. Form token (``check_form``, before the fields are read, so a stale page is told
   to reload whatever it sent). Refuse, 403 ``bad_token``.
   The fields are validated next (``visitor/intake.py``). Refuse, 422.
2. Proof of work (``decide`` from here on). A wrong, expired or used one: refuse,
   403 ``bad_challenge``. None sent while a bot signal is up (a fast submit, a
   counter past half its limit, a ``Referer`` without ``Origin``): refuse, 428
   ``challenge``.
3. The hidden trap field filled in. Hold (``bot trap``), after step 5's refusals.
4. Opted out or on the owner's block list (``blocklist``). Hold (``number blocked``),
   after step 5's refusals.
5. Dial limits (``limits.check_dial``). An active call for the number (a held request of
   step 3 or 4 counts while its public status says it is being tried), or a
   per-number, per-prefix or per-country limit: refuse, 429 with ``retry_after``, for
   the requests of steps 3 and 4 too (their answers must match anyone's). The widget's
   cap, or the limit store down: hold, and the owner is told; a request held at step 3
   or 4 takes no cap slot (it is never dialled) and keeps its reason.
6. The form token used up. Refuse, 403 ``bad_token``, if another request took it first.

Steps 1 and 2 are the bot defences: the config page's test call (a signed-in owner)
skips them, and ``FORM_TOKENS`` off skips step 1 and step 2 unless a ``pow`` is sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ..models import Widget
from ..ops import metrics
from ..statuses import HeldReason
from . import blocklist, bots, limits

log = logging.getLogger(__name__)

# Holds the owner hears about; blocks are theirs or the number holder's doing, bots are noise.
_OWNER_TOLD = frozenset({HeldReason.WIDGET_CAP, HeldReason.LIMIT_STORE})


@dataclass(frozen=True)
class Decision:
    """``allow``; ``hold`` for ``held_reason``; ``refuse`` with ``status`` and API ``error``."""

    action: str
    held_reason: HeldReason | None = None
    status: int | None = None
    error: str | None = None
    retry_after: int | None = None
    challenge: dict[str, Any] | None = None

    @property
    def refused(self) -> bool:
        return self.action == "refuse"

    @property
    def held(self) -> bool:
        return self.action == "hold"

    @property
    def tell_owner(self) -> bool:
        return self.held_reason in _OWNER_TOLD


ALLOW = Decision("allow")
BAD_TOKEN = Decision("refuse", status=403, error="bad_token")


def _hold(reason: HeldReason) -> Decision:
    return Decision("hold", held_reason=reason)


def check_form(
    widget: Widget, data: dict[str, Any], origin: str, *, bot_checks: bool = True
) -> tuple[Decision, bots.Token | None]:
    """Step 1: the form token the widget's config gave this page, and its claims."""
    if not bot_checks or not bots.enabled():
        return ALLOW, None
    token = bots.check_token(data.get("token"), widget.public_key, origin)
    if token is None:
        log.info("widget %s: request with a missing, bad or used form token refused", widget.id)
        metrics.count_refusal("bot_token")
        return BAD_TOKEN, None
    return ALLOW, token


def decide(
    widget: Widget,
    phone: str,
    data: dict[str, Any],
    *,
    client_ip: str | None,
    token: bots.Token | None,
    origin_header: str | None = None,
    referer: str | None = None,
    bot_checks: bool = True,
) -> Decision:
    """Steps 2 to 6 for a request with valid fields and the E.164 ``phone``.

    ``origin_header`` and ``referer`` are the request's headers as sent. The dial
    limits take their slots here, so call this once per request, right before storing it.
    """
    trapped = bots.trapped(data)
    if bot_checks and not trapped and (bots.enabled() or "pow" in data):
        pressure = limits.pressure(widget, phone, client_ip)
        found = bots.signals(token, pressure, origin=origin_header, referer=referer)
        refusal = _proof_of_work(widget, data, found)
        if refusal is not None:
            return refusal
    held = _trapped_or_blocked(widget, phone, trapped)
    # A blocked number or a trapped bot meets the per-number limits as anyone does: were
    # its second request answered 202 where any other number's gets a 429, the answers
    # would tell which numbers opted out, or that the trap fired (visitor/disguise.py).
    dial = limits.check_dial(widget, phone, client_ip, dialled=held is None, public=bot_checks)
    if dial.refused:
        wait = dial.retry_after or 60
        return Decision("refuse", status=429, error="rate_limited", retry_after=wait)
    if held is not None:
        metrics.count_refusal("bot_trap" if trapped else "blocked")
        decision = held
    else:
        decision = _hold(HeldReason(dial.reason)) if dial.held else ALLOW
    if token is not None and not bots.consume_token(token):
        log.info("widget %s: form token used by another request first", widget.id)
        return BAD_TOKEN
    return decision


def _proof_of_work(widget: Widget, data: dict[str, Any], found: list[str]) -> Decision | None:
    """Step 2: a refusal when the proof of work sent is wrong, or one is needed and missing."""
    if "pow" in data and not bots.check_pow(data["pow"], widget.public_key):
        log.info("widget %s: a wrong, expired or used proof of work refused", widget.id)
        metrics.count_refusal("bot_pow")
        return Decision("refuse", status=403, error="bad_challenge")
    if found and "pow" not in data:
        log.info("widget %s: proof of work asked (%s)", widget.id, ", ".join(found))
        metrics.count_refusal("bot_challenge")
        challenge = bots.new_challenge(widget.public_key)
        return Decision("refuse", status=428, error="challenge", challenge=challenge)
    return None


def _trapped_or_blocked(widget: Widget, phone: str, trapped: bool) -> Decision | None:
    """Steps 3 and 4: a hold, or None when neither applies."""
    if trapped:
        return _hold(HeldReason.BOT_TRAP)
    if blocklist.is_blocked(widget.owner_id, phone):
        return _hold(HeldReason.BLOCKED)
    return None
