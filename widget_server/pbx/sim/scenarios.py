"""Which call the simulator plays for a visitor number, and the event script of each.

The visitor number picks the scenario (digits, a leading 8 of an 11-digit
number read as 7). Delays are simulated seconds, multiplied by TIME_SCALE
when played, and count from the previous event.

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


@dataclass(frozen=True)
class Step:
    """One call_events POST: wait ``delay`` simulated seconds, then send ``state``."""

    delay: float
    state: str
    request_number: str
    disconnect_reason: str = ""
    is_record: str = ""
    # session_log entries (code, party) the step adds; codes as seen in call_info.
    log: tuple[tuple[str, str], ...] = ()


def build_script(
    kind: str, *, login: str, visitor: str, recording: bool, config: dict[str, Any]
) -> list[Step]:
    """The events of a played call; ``kind`` is normal or one of the no-connect endings."""
    domain = config["DOMAIN"]
    operator_uri = f"{login}@{domain}"
    visitor_uri = f"sip:{visitor}@{domain}"
    steps = [
        Step(NEW_DELAY, "new", visitor),
        Step(OPERATOR_RING_DELAY, "calling", operator_uri, log=(("ct", login),)),
    ]
    if kind == OPERATOR_NO_ANSWER:
        ring = config["OPERATOR_RING_SECONDS"]
        steps.append(Step(ring, "disconnected", operator_uri, log=(("cd", login),)))
    else:
        # The operator picked up; the PBX now dials the visitor.
        answered = (("cc", login), ("ct", visitor))
        steps.append(Step(OPERATOR_ANSWER_DELAY, "calling", visitor_uri, log=answered))
        hangup = (("cd", visitor),)
        if kind == VISITOR_BUSY:
            steps.append(Step(VISITOR_BUSY_DELAY, "disconnected", visitor_uri, "3", log=hangup))
        elif kind == VISITOR_NO_ANSWER:
            ring = config["VISITOR_RING_SECONDS"]
            steps.append(Step(ring, "disconnected", visitor_uri, log=hangup))
        else:
            steps.append(Step(VISITOR_ANSWER_DELAY, "connected", visitor, log=(("cc", visitor),)))
            talk = config["TALK_SECONDS"]
            steps.append(Step(talk, "disconnected", visitor, "5", log=hangup))
    recorded = kind == NORMAL and recording
    steps.append(Step(END_DELAY, "end", visitor, is_record="true" if recorded else "false"))
    return steps
