"""Every JSON example of the seed article (Rostelecom's blog post on the API), as we read it.

``/work/shared/seeds/000_5d47fb1a41eb8a63.txt``; ``../shared/pbx-rostelecom.md`` §8. The copy
we have is damaged in places, so each example below says which reading was taken:

* Values printed as ``^_^quot<one character>quot^_^`` are quoted strings whose digits were
  lost. The lost characters' code points are 666, 703, 500 and 607: we take those digits
  ("666", "703", the group "500", the answering user "607"). Any digits would do.
* ``"start_call_date":^_^quotquot^_^`` is a quoted string with nothing left in it: we take a
  Unix time string for the call's own moment (2019-12-27 15:34:44 Moscow), as §2.5 describes.
* The incoming ``call_events`` examples stop at ``"from_number":"sip:`` and the article says
  the call comes "from the number 1234567890": we take ``sip:1234567890@example.ru``.
* The ``get_record`` answer stops at ``{"result": ^_^quot``: a quoted result, ``"0"``, and the
  ``url`` the text announces ("a temporary link to download the file").
* ``call_info``'s ``status_code`` stops at its opening quote: ``"0"`` (no connection error).

Where a reading is a choice, the tests also feed the other one (an int where we read a
string, a bool where we read "true", a number without ``sip:``).
"""

from __future__ import annotations

from typing import Any

DOMAIN = "example.ru"
SESSION_ID = "SDsnZugDFmTW7Sec"
CALLER = "1234567890"  # "входящий вызов с номера 1234567890"

# -- users_info -------------------------------------------------------------------------
USERS_INFO_REQUEST: dict[str, Any] = {"domain": DOMAIN}

USERS_INFO_ANSWER: dict[str, Any] = {
    "result": 0,
    "resultMessage": "",
    "users": [
        {
            "display_name": "test_user_1",
            "name": "admin",
            "pin": "666",
            "is_supervisor": True,
            "is_operator": False,
            "email": "test_user_1@mail.gov",
            "recording": 1,
        },
        {
            "display_name": "test_user_2",
            "name": "test",
            "pin": "703",
            "is_supervisor": True,
            "is_operator": False,
            "email": "",
            "recording": 1,
        },
    ],
    "groups": [
        {
            "name": "testAPI",
            "pin": "500",
            "email": "Ivanov@mail.gov",
            "distribution": 1,
            "users_list": ["666", "703"],
        }
    ],
}

# -- call_events: the incoming call, its start and its end ----------------------------------
INCOMING_NEW_EVENT: dict[str, Any] = {
    "session_id": SESSION_ID,
    "timestamp": "2019-12-27 15:34:44.461",
    "type": "incoming",
    "state": "new",
    "from_number": f"sip:{CALLER}@{DOMAIN}",
}

INCOMING_END_EVENT: dict[str, Any] = {
    "session_id": SESSION_ID,
    "timestamp": "2019-12-27 15:34:59.349",
    "type": "incoming",
    "state": "end",
    "from_number": f"sip:{CALLER}@{DOMAIN}",
    # "флаг «is_record» ... true означает, что функция записи разговора у пользователя подключена"
    "is_record": True,
}

# -- get_number_info: the PBX asks (shaped like the event), the CRM answers -----------------
NUMBER_INFO_REQUEST: dict[str, Any] = dict(INCOMING_NEW_EVENT)

NUMBER_INFO_ANSWER: dict[str, Any] = {
    "result": 0,
    "resultMessage": "Абонент найден",
    "displayName": "Иванов Иван Иванович +1 234-56-78-90",
}

# -- get_record ---------------------------------------------------------------------------
GET_RECORD_REQUEST: dict[str, Any] = {"session_id": SESSION_ID}


def get_record_answer(url: str) -> dict[str, Any]:
    """The cut-off answer, completed as the text announces it: a temporary link."""
    return {"result": "0", "resultMessage": "Операция выполнена успешно", "url": url}


# -- call_info ----------------------------------------------------------------------------
CALL_INFO_REQUEST: dict[str, Any] = {"session_id": SESSION_ID}

# The external party appears once, as ``el``; ring/answer/hang-up entries (ct, cc, cd) name
# the internal user alone, by login. ``duration`` equals the ``cd`` offset.
SESSION_LOG = "0:el:123456789;0:ru:admin;7:ct:admin;9:cc:admin;14:cd:admin;"

CALL_INFO: dict[str, Any] = {
    "call_type": 1,
    "direction": 1,
    "state": 1,
    "orig_number": f"sip:admin@{DOMAIN}",
    "answering_pin": "607",
    "start_call_date": "1577450084",
    "duration": 14,
    "session_log": SESSION_LOG,
    "is_voicemail": False,
    "is_record": True,
    "is_fax": False,
    "status_code": "0",
}

CALL_INFO_ANSWER: dict[str, Any] = {"result": 0, "resultMessage": "", "info": CALL_INFO}


def call_info_for(visitor_digits: str, login: str, **changes: Any) -> dict[str, Any]:
    """The article's ``info``, told of our own call_back: the visitor as ``el``, the operator
    by ``login``; ``changes`` replace fields (``state``, ``session_log``…)."""
    log = SESSION_LOG.replace("123456789", visitor_digits).replace("admin", login)
    return {
        **CALL_INFO,
        "call_type": 3,
        "direction": 2,
        "orig_number": f"sip:{login}@{DOMAIN}",
        "session_log": log,
        **changes,
    }
