"""Which call the simulator plays for a visitor number, and the event script of each.

The visitor number picks the scenario (digits, a leading 8 of an 11-digit
number read as 7). Delays are simulated seconds, multiplied by TIME_SCALE
when played, and count from the previous event. The account's ``DIALECT``
(``DIALECT_SUMMARIES``, ``docs/pbx-dialects.md``) decides how each call is told:
which events are sent, what they carry, what call_info's ``session_log`` shows
(``call_info.py``; (s) plays (a)'s events with the seed article's call_info).
The table is dialect (a):

=========== ======================= ================================================
Number      Scenario                What happens
=========== ======================= ================================================
79000000001 operator_no_answer      new, calling(operator); after
                                    OPERATOR_RING_SECONDS disconnected reason "",
                                    end is_record "false"
79000000002 visitor_busy            operator answers, calling(visitor); after 1.0
                                    disconnected reason "3", end
79000000003 visitor_no_answer       operator answers, calling(visitor); after
                                    VISITOR_RING_SECONDS disconnected reason "", end
79000000004 refused                 call_back answers result "-20", no session
79000000005 pbx_slow                call_back stalls SLOW_SECONDS (not scaled), then
                                    answers success and plays nothing
79000000006 pbx_down                call_back answers HTTP 503 with an nginx-like page
79000000007 operator_no_answer_once the first call_back for the number (per sim,
                                    forgotten after 10 min) plays operator_no_answer,
                                    later ones play normal
any other   normal                  new, calling(operator), calling(visitor) after
                                    2.0, connected after 3.0, disconnected reason "5"
                                    after TALK_SECONDS, end is_record "true"
=========== ======================= ================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NORMAL = "normal"
OPERATOR_NO_ANSWER = "operator_no_answer"
VISITOR_BUSY = "visitor_busy"
VISITOR_NO_ANSWER = "visitor_no_answer"
REFUSED = "refused"
PBX_SLOW = "pbx_slow"
PBX_DOWN = "pbx_down"
OPERATOR_NO_ANSWER_ONCE = "operator_no_answer_once"

# How long the sim remembers a number for OPERATOR_NO_ANSWER_ONCE.
ONCE_WINDOW_SECONDS = 600.0

# Simulated seconds of the fixed parts of a call.
NEW_DELAY = 0.1
OPERATOR_RING_DELAY = 0.2
OPERATOR_ANSWER_DELAY = 2.0
VISITOR_ANSWER_DELAY = 3.0
VISITOR_BUSY_DELAY = 1.0
END_DELAY = 0.2

DOWN_PAGE = "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str


SCENARIOS: dict[str, Scenario] = {
    "79000000001": Scenario(OPERATOR_NO_ANSWER, "the operator never answers"),
    "79000000002": Scenario(VISITOR_BUSY, "the visitor's line is busy"),
    "79000000003": Scenario(VISITOR_NO_ANSWER, "the visitor does not answer"),
    "79000000004": Scenario(REFUSED, "call_back refused with result -20"),
    "79000000005": Scenario(PBX_SLOW, "call_back stalls past the caller's timeout"),
    "79000000006": Scenario(PBX_DOWN, "call_back answers HTTP 503 (HTML)"),
    "79000000007": Scenario(
        OPERATOR_NO_ANSWER_ONCE, "first operator does not answer, the next one connects"
    ),
}

NORMAL_SCENARIO = Scenario(NORMAL, "operator and visitor answer, they talk, hang up")


def scenario_for(digits: str) -> Scenario:
    """The scenario for a normalised visitor number."""
    return SCENARIOS.get(digits, NORMAL_SCENARIO)


# How a live domain may speak (``docs/pbx-dialects.md``); one letter per dialect.
DIALECT_SUMMARIES = {
    "a": "our original guess: calling for each leg, connected when the visitor answers",
    "b": "no visitor-leg calling; request_number is the visitor on every event",
    "c": "connected fires when the operator answers; the visitor rings after, silently",
    "d": "as (c), but the visitor never answers (call_info state 2, no cc for the visitor)",
    "e": "events carry another session id (SD…) than the call_back reply (a UUID)",
    "f": 'the call_back success reply says result "1"',
    "g": "no call_events at all; call_info answers only once the call is over",
    "h": "the PBX rings the operator for PBX_RING_SECONDS, and a late answer comes after ours",
    "s": "(a)'s events; call_info as in the seed article: its session_log names the visitor "
    "only as the external line (el), ring/answer/hang-up entries for the operator alone",
}
# (h): an operator who answers does so this late (simulated seconds).
LATE_ANSWER_DELAY = 25.0
BUSY_STATUS = ("486", "Busy Here")


@dataclass(frozen=True)
class Step:
    """One moment of a call: wait ``delay`` simulated seconds, then send ``state``.

    ``state`` None is a moment the dialect reports by no event (only call_info's
    session_log learns of it).
    """

    delay: float
    state: str | None
    request_number: str
    disconnect_reason: str = ""
    is_record: str = ""
    # session_log entries (code, party) the step adds; codes as seen in call_info.
    log: tuple[tuple[str, str], ...] = ()
    # call_info's status_code / status_string once this step has played.
    status: tuple[str, str] | None = None


def build_script(
    kind: str,
    *,
    pin: str,
    login: str,
    visitor: str,
    recording: bool,
    config: dict[str, Any],
    dialect: str = "a",
) -> list[Step]:
    """The moments of a played call; ``kind`` is normal or one of the no-connect endings."""
    domain = config["DOMAIN"]
    operator_uri, visitor_uri = f"{login}@{domain}", f"sip:{visitor}@{domain}"
    if dialect == "b":
        operator_uri = visitor_uri = visitor  # the external number on every event
    if dialect == "d" and kind == NORMAL:
        kind = VISITOR_NO_ANSWER
    steps = [
        Step(NEW_DELAY, "new", visitor),
        Step(OPERATOR_RING_DELAY, "calling", operator_uri, log=(("ct", pin),)),
    ]
    if kind == OPERATOR_NO_ANSWER:
        ring = config["PBX_RING_SECONDS" if dialect == "h" else "OPERATOR_RING_SECONDS"]
        steps.append(Step(ring, "disconnected", operator_uri, log=(("cd", pin),)))
    else:
        steps += _answered_operator(kind, dialect, operator_uri, visitor_uri, pin, visitor, config)
    recorded = kind == NORMAL and recording
    steps.append(Step(END_DELAY, "end", visitor, is_record="true" if recorded else "false"))
    return steps


def _answered_operator(kind, dialect, operator_uri, visitor_uri, pin, visitor, config):
    """The steps after the operator picks up and the PBX dials the visitor."""
    late = dialect == "h"
    on_operator = dialect in ("c", "d")  # `connected` means the operator answered
    delay = LATE_ANSWER_DELAY if late else OPERATOR_ANSWER_DELAY
    answered = (("cc", pin), ("ct", visitor))
    if on_operator:
        steps = [Step(delay, "connected", operator_uri, log=answered)]
    elif dialect == "b":
        steps = [Step(delay, None, visitor_uri, log=answered)]
    else:
        steps = [Step(delay, "calling", visitor_uri, log=answered)]
    hangup = (("cd", visitor),)
    if kind == VISITOR_BUSY:
        steps.append(
            Step(
                VISITOR_BUSY_DELAY, "disconnected", visitor_uri, "3", log=hangup, status=BUSY_STATUS
            )
        )
    elif kind == VISITOR_NO_ANSWER:
        ring = config["VISITOR_RING_SECONDS"]
        steps.append(Step(ring, "disconnected", visitor_uri, log=hangup))
    else:
        state = None if on_operator else "connected"
        steps.append(Step(VISITOR_ANSWER_DELAY, state, visitor, log=(("cc", visitor),)))
        steps.append(Step(config["TALK_SECONDS"], "disconnected", visitor, "5", log=hangup))
    return steps
