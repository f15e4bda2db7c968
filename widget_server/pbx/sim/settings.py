"""Simulator configuration: defaults, the demo directory, and ``WIDGET_SIM_*`` env vars."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from typing import Any

ENV_PREFIX = "WIDGET_SIM_"

# Shaped exactly as users_info returns them (reference section 8).
DEFAULT_USERS: list[dict[str, Any]] = [
    {
        "display_name": "Администратор",
        "name": "admin",
        "pin": "200",
        "is_supervisor": True,
        "is_operator": False,
        "email": "admin@example.ru",
        "recording": 0,
    },
    {
        "display_name": "Анна Смирнова",
        "name": "anna",
        "pin": "201",
        "is_supervisor": False,
        "is_operator": True,
        "email": "anna@example.ru",
        "recording": 1,
    },
    {
        "display_name": "Борис Петров",
        "name": "boris",
        "pin": "202",
        "is_supervisor": False,
        "is_operator": True,
        "email": "boris@example.ru",
        "recording": 1,
    },
    {
        "display_name": "Вера Козлова",
        "name": "vera",
        "pin": "203",
        "is_supervisor": True,
        "is_operator": True,
        "email": "vera@example.ru",
        "recording": 1,
    },
    {
        "display_name": "Глеб Орлов",
        "name": "gleb",
        "pin": "204",
        "is_supervisor": False,
        "is_operator": True,
        "email": "gleb@example.ru",
        "recording": 1,
    },
]

DEFAULT_GROUPS: list[dict[str, Any]] = [
    {
        "name": "Отдел продаж",
        "pin": "101",
        "email": "sales@example.ru",
        "distribution": 1,
        "users_list": ["201", "202", "203"],
    },
    {
        "name": "Сервис",
        "pin": "102",
        "email": "service@example.ru",
        "distribution": 1,
        "users_list": ["204", "203"],
    },
]

DEFAULTS: dict[str, Any] = {
    "CLIENT_ID": "DEMO0000000000000000000000000001",
    "SIGN_KEY": "DEMOKEY0000000000000000000000001",
    "DOMAIN": "demo.cloudpbx.rt.ru",
    "WEBHOOK_BASE": None,
    "TIME_SCALE": 1.0,
    "OPERATOR_RING_SECONDS": 30.0,
    "VISITOR_RING_SECONDS": 25.0,
    "TALK_SECONDS": 6.0,
    "SLOW_SECONDS": 20.0,
    # Every call_back is answered this late (not scaled): a PBX slow to answer any call.
    "ANSWER_SECONDS": 0.0,
    "RECORD_TTL_SECONDS": 120.0,
    # Dialect (h): how long the PBX itself rings an operator who does not answer.
    "PBX_RING_SECONDS": 35.0,
    # How the PBX speaks to the main account (see scenarios.DIALECT_SUMMARIES).
    "DIALECT": "a",
    # More accounts the sim serves: {client_id: {"sign_key", "webhook_base", "dialect"}}.
    "ACCOUNTS": {},
    "USERS": DEFAULT_USERS,
    "GROUPS": DEFAULT_GROUPS,
}

FLOAT_KEYS = frozenset(
    {
        "TIME_SCALE",
        "OPERATOR_RING_SECONDS",
        "VISITOR_RING_SECONDS",
        "TALK_SECONDS",
        "SLOW_SECONDS",
        "ANSWER_SECONDS",
        "RECORD_TTL_SECONDS",
        "PBX_RING_SECONDS",
    }
)
JSON_KEYS = frozenset({"USERS", "GROUPS", "ACCOUNTS"})
# (s): the seed article's call_info (sim/call_info.py).
DIALECTS = frozenset("abcdefghs")

# What POST /_sim/config may change at run time; the main identity and the directory stay fixed.
RUNTIME_KEYS = frozenset({"WEBHOOK_BASE", "DIALECT", "ACCOUNTS"} | FLOAT_KEYS)


def coerce(key: str, value: Any) -> Any:
    """Convert one config value to its type; blank WEBHOOK_BASE means "don't send"."""
    if key in FLOAT_KEYS:
        number = float(value)
        if number < 0 or (key == "TIME_SCALE" and number == 0):
            raise ValueError(f"{key} must be positive")
        return number
    if key in JSON_KEYS:
        value = json.loads(value) if isinstance(value, str) else value
        return _accounts(value) if key == "ACCOUNTS" else value
    if key == "DIALECT":
        return _dialect(value)
    if key == "WEBHOOK_BASE":
        return str(value).rstrip("/") if value else None
    return str(value)


def _dialect(value: Any) -> str:
    dialect = str(value or "a").strip().lower()
    if dialect not in DIALECTS:
        raise ValueError(f"unknown dialect {value!r}: one of {', '.join(sorted(DIALECTS))}")
    return dialect


def _accounts(value: Any) -> dict[str, dict[str, Any]]:
    """``{client_id: {"sign_key", "webhook_base", "dialect"}}``, checked and normalised."""
    if not isinstance(value, dict):
        raise ValueError("ACCOUNTS must be an object keyed by client id")
    accounts = {}
    for client_id, account in value.items():
        if not isinstance(account, dict) or not account.get("sign_key"):
            raise ValueError(f"account {client_id!r} needs a sign_key")
        accounts[str(client_id)] = {
            "sign_key": str(account["sign_key"]),
            "webhook_base": coerce("WEBHOOK_BASE", account.get("webhook_base")),
            "dialect": _dialect(account["dialect"]) if account.get("dialect") else None,
        }
    return accounts


def merge_config(config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults overlaid with ``config`` (keys case-insensitive); unknown keys are an error."""
    merged = copy.deepcopy(DEFAULTS)
    for key, value in (config or {}).items():
        upper = key.upper()
        if upper not in DEFAULTS:
            raise ValueError(f"unknown simulator setting: {key}")
        merged[upper] = coerce(upper, value)
    return merged


def sim_config_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Full config: defaults overridden by ``WIDGET_SIM_<KEY>`` variables.

    USERS and GROUPS are read as JSON; an empty WIDGET_SIM_WEBHOOK_BASE means None.
    """
    environ = os.environ if environ is None else environ
    overrides = {key: environ[ENV_PREFIX + key] for key in DEFAULTS if ENV_PREFIX + key in environ}
    return merge_config(overrides)


def public_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The config minus the signing key, for the inspection endpoint."""
    public = {key: value for key, value in config.items() if key not in ("SIGN_KEY", *JSON_KEYS)}
    public["ACCOUNTS"] = {
        client_id: {k: v for k, v in account.items() if k != "sign_key"}
        for client_id, account in config["ACCOUNTS"].items()
    }
    return public
