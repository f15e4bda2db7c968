"""OpenAPI 3.1 description of the public widget API (served at /api/v1/openapi.json)."""

from __future__ import annotations

from typing import Any

from .. import __version__

_STATUSES = [
    "queued",
    "scheduled",
    "calling_operator",
    "calling_visitor",
    "connected",
    "finished",
    "no_operator",
    "visitor_busy",
    "visitor_no_answer",
    "pbx_error",
    "cancelled",
    "retrying",
    "operators_busy",
    "visitor_retry",
    "held",
]


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def spec(server_url: str) -> dict[str, Any]:
    key = {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}
    handle = {"name": "handle", "in": "path", "required": True, "schema": {"type": "string"}}
    tz = {
        "name": "tz",
        "in": "query",
        "required": False,
        "description": "The visitor's IANA time zone, e.g. Asia/Yekaterinburg; unknown ones are ignored",
        "schema": {"type": "string"},
    }
    status_ok = {
        "description": "Current status",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "widget_server public widget API",
            "version": __version__,
            "description": "Anonymous, cross-origin API used by embed.js. Requests must come "
            "from one of the widget's allowed origins (Origin or Referer).",
        },
        "servers": [{"url": server_url}],
        "paths": {
            "/api/v1/widgets/{key}/config": {
                "get": {
                    "summary": "Widget configuration and texts",
                    "parameters": [key, tz],
                    "responses": {
                        "200": {
                            "description": "Config",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Config"}
                                }
                            },
                        },
                        "403": _error("Origin not allowed or widget paused"),
                        "404": _error("Unknown widget"),
                        "429": _error("Too many requests; see Retry-After"),
                    },
                }
            },
            "/api/v1/widgets/{key}/requests": {
                "post": {
                    "summary": "Ask for a call back",
                    "parameters": [key, tz],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "text/plain": {"schema": {"$ref": "#/components/schemas/NewRequest"}},
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/NewRequest"}
                            },
                        },
                    },
                    "responses": {
                        "202": {
                            "description": "Accepted",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["handle", "status"],
                                        "properties": {
                                            "handle": {"type": "string"},
                                            "status": {"$ref": "#/components/schemas/Status"},
                                        },
                                    }
                                }
                            },
                        },
                        "400": _error("Malformed JSON"),
                        "403": _error(
                            "Origin not allowed; `bad_token`: the form token is missing, "
                            "invalid, expired, used or not this widget's and origin's; "
                            "`bad_challenge`: a wrong, expired or used proof of work"
                        ),
                        "404": _error("Unknown widget"),
                        "413": _error("Body too large"),
                        "422": _error("Invalid fields; `fields` maps field name to message"),
                        "428": _error(
                            "`challenge`: solve `challenge` and send the same body again "
                            "with `pow`; nothing was stored"
                        ),
                        "429": _error("Too many requests; see Retry-After"),
                        "503": _error("Temporarily unavailable"),
                    },
                }
            },
            "/api/v1/requests/{handle}": {
                "get": {
                    "summary": "Live status of a request",
                    "parameters": [handle],
                    "responses": {
                        "200": status_ok,
                        "403": _error("Origin not allowed"),
                        "404": _error("Unknown handle"),
                        "429": _error("Polling too fast"),
                    },
                }
            },
            "/api/v1/requests/{handle}/cancel": {
                "post": {
                    "summary": "Cancel before anything rings",
                    "parameters": [handle],
                    "responses": {
                        "200": status_ok,
                        "403": _error("Origin not allowed"),
                        "404": _error("Unknown handle"),
                        "409": _error("Too late to cancel"),
                        "429": _error("Cancelling too often; see Retry-After"),
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error", "message"],
                    "properties": {
                        "error": {"type": "string"},
                        "message": {"type": "string"},
                        "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                        "retry_after": {"type": "integer"},
                        "challenge": {"$ref": "#/components/schemas/Challenge"},
                    },
                },
                "Challenge": {
                    "type": "object",
                    "description": "Find `number` ≥ 0 such that SHA-256 of the UTF-8 text "
                    "`salt` followed by `number` in decimal starts with `bits` zero bits",
                    "required": ["algorithm", "salt", "bits"],
                    "properties": {
                        "algorithm": {"const": "SHA-256"},
                        "salt": {"type": "string"},
                        "bits": {"type": "integer", "minimum": 1, "maximum": 32},
                        "expires_in": {"type": "integer", "description": "Seconds to solve it"},
                    },
                },
                "NewRequest": {
                    "type": "object",
                    "required": ["phone", "consent"],
                    "properties": {
                        "phone": {"type": "string", "maxLength": 32, "example": "+7 916 123-45-67"},
                        "group": {"type": "string", "description": "Group id from the config"},
                        "name": {"type": "string", "maxLength": 100},
                        "consent": {"type": "boolean", "const": True},
                        "page_url": {"type": "string", "maxLength": 1000},
                        "slot": {
                            "type": "string",
                            "format": "date-time",
                            "description": "One of the config's slots[].at: call then, not now",
                        },
                        "tz": {"type": "string", "description": "The visitor's IANA time zone"},
                        "token": {
                            "type": "string",
                            "description": "The config's form_token: signed, 10 minutes, once",
                        },
                        "website": {
                            "type": "string",
                            "description": "Hidden trap field: people leave it empty",
                        },
                        "pow": {
                            "type": "object",
                            "description": "A solved challenge of a 428 answer",
                            "required": ["salt", "number"],
                            "properties": {
                                "salt": {"type": "string"},
                                "number": {"type": "integer", "minimum": 0},
                            },
                        },
                    },
                },
                "Status": {
                    "type": "object",
                    "required": ["status", "final", "cancellable", "message"],
                    "properties": {
                        "status": {"type": "string", "enum": _STATUSES},
                        "final": {"type": "boolean"},
                        "cancellable": {"type": "boolean"},
                        "message": {"type": "string"},
                        "updated_at": {"type": "string"},
                        "scheduled_for": {
                            "type": ["string", "null"],
                            "format": "date-time",
                            "description": "When a scheduled call will be placed (UTC)",
                        },
                    },
                },
                "Config": {
                    "type": "object",
                    "required": ["key", "language", "groups", "texts"],
                    "properties": {
                        "key": {"type": "string"},
                        "form_token": {
                            "type": "string",
                            "description": "Send as `token` with the callback request",
                        },
                        "language": {"enum": ["ru", "en"]},
                        "color": {"type": "string"},
                        "position": {"enum": ["left", "right"]},
                        "privacy_policy_url": {"type": ["string", "null"]},
                        "ask_name": {"type": "boolean"},
                        "countdown_seconds": {"type": "integer"},
                        "poll_interval_ms": {"type": "integer"},
                        "groups": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "id": {"type": "string"},
                                    "label": {"type": "string"},
                                },
                            },
                        },
                        "texts": {"type": "object", "additionalProperties": {"type": "string"}},
                        "open": {
                            "type": "boolean",
                            "description": "The visitor can be called now (in hours, not night)",
                        },
                        "slots": {
                            "type": "array",
                            "description": "When closed: the next times a call can be placed",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "at": {"type": "string", "format": "date-time"},
                                    "label": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            }
        },
    }
