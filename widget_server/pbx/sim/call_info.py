"""What the simulator's ``call_info`` tells of a call, in the calling account's dialect.

A call keeps one true log of who rang (``ct``), answered (``cc``) and hung up (``cd``):
the operator by PIN, the visitor by digits. Every dialect but (s) answers with the
fields of the guide's table (``shared/pbx-rostelecom.md`` §2.5) and that log as it is::

    0:ct:201;2:cc:201;3:ct:79161234567;5:cc:79161234567;10:cd:79161234567;

(s) is the seed article's own shape (§8): only the fields the article shows, and a
``session_log`` that names the visitor once, as the external line (``el``), routes to the
operator (``ru``) and has ring, answer and hang-up entries for the operator alone, by
login; the operator's ``cd`` comes when the call ends::

    0:el:79161234567;0:ru:anna;0:ct:anna;2:cc:anna;11:cd:anna;

The article shows no call the visitor missed, so in every scenario the log names only
the operator: ct; cc once they answer; cd when the call ends. ``answering_pin`` is the
operator once they answered (the first party to answer). ``state`` is 1 when the call's
destination answered, as in the article's example, where the incoming call's
destination (the user) answered: for our callback, the visitor; then ``duration`` runs
to the operator's ``cd`` (the article's 14 is its ``cd``), else it is 0. A busy visitor
still leaves ``status_code`` "486". The log never tells whether the visitor answered:
only the events and ``state`` do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # state.py asks this module: no import at run time
    from .state import Call

SEED = "s"


def call_info_of(call: Call, domain: str) -> dict[str, Any]:
    """The ``info`` object of ``call_info`` for what has been played of ``call`` so far."""
    if call.dialect == SEED:
        return _seed_info(call, domain)
    origin = call.started_at or call.created
    session_log = "".join(
        f"{call.sim_seconds(origin, at)}:{code}:{party};" for at, code, party in call.log
    )
    times = {(code, party): at for at, code, party in call.log}
    operator_answered = ("cc", call.operator_pin) in times
    talk_start = times.get(("cc", call.visitor))
    talk_end = times.get(("cd", call.visitor))
    return {
        "call_type": 3,
        "direction": 2,
        "state": 1 if call.visitor_answered() else 2,
        "orig_number": f"sip:{call.operator_login}@{domain}",
        "orig_pin": call.operator_pin,
        "dest_number": call.visitor,
        # The first party to answer: in a callback, the operator.
        "answering_sipuri": f"sip:{call.operator_login}@{domain}" if operator_answered else None,
        "answering_pin": "",
        "start_call_date": str(int(call.created)),
        "duration": call.sim_seconds(talk_start, talk_end) if call.ended else 0,
        "session_log": session_log,
        "is_voicemail": False,
        "is_record": call.is_record if call.ended else False,
        "is_fax": False,
        "status_code": call.status[0],
        "status_string": call.status[1],
    }


def seed_log(call: Call) -> list[tuple[float, str, str]]:
    """The true log told as the seed's: the visitor as ``el``, the operator by login."""
    origin = call.started_at or call.created
    login = call.operator_login
    entries = [(origin, "el", call.visitor), (origin, "ru", login)]
    for at, code, party in call.log:
        if party == call.operator_pin:
            entries.append((at, code, login))
        elif party == call.visitor and code == "cd":
            entries.append((at, "cd", login))  # the operator's leg ends with the visitor's
    return entries


def _seed_info(call: Call, domain: str) -> dict[str, Any]:
    origin = call.started_at or call.created
    entries = seed_log(call)
    operator_answered = any(code == "cc" for _, code, _ in entries)
    answered = call.visitor_answered()
    hung_up = next((at for at, code, _ in entries if code == "cd"), None)
    return {
        "call_type": 3,
        "direction": 2,
        "state": 1 if answered else 2,
        "orig_number": f"sip:{call.operator_login}@{domain}",
        "answering_pin": call.operator_pin if operator_answered else "",
        "start_call_date": str(int(call.created)),
        "duration": call.sim_seconds(origin, hung_up) if answered and call.ended else 0,
        "session_log": "".join(
            f"{call.sim_seconds(origin, at)}:{code}:{party};" for at, code, party in entries
        ),
        "is_voicemail": False,
        "is_record": call.is_record if call.ended else False,
        "is_fax": False,
        "status_code": call.status[0],
    }
