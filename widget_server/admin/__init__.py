"""The site owners' config page at /admin: server-rendered, CSRF-protected, owner-scoped.

Feature modules (auth, account, users, pbx, widgets, requests_log, request_detail,
dashboard) add their routes to the one ``bp`` blueprint of ``blueprint.py``; ``access``
holds the ownership checks every view goes through.
"""

from __future__ import annotations

# Importing the section modules registers their routes on bp.
from . import (
    account,
    auth,
    call_now,
    channels,
    checklist,
    dashboard,
    errors,
    funnel,
    lead_work,
    owner_time,
    password_reset,
    pbx,
    pbx_check,
    pbx_journal,
    plugins,
    request_detail,
    requests_log,
    users,
    widget_leads,
    widget_limits,
    widget_preview,
    widget_sites,
    widget_test_call,
    widgets,
)
from .blueprint import bp

__all__ = [
    "bp",
    "account",
    "auth",
    "call_now",
    "channels",
    "checklist",
    "dashboard",
    "errors",
    "funnel",
    "lead_work",
    "owner_time",
    "password_reset",
    "pbx",
    "pbx_check",
    "pbx_journal",
    "plugins",
    "request_detail",
    "requests_log",
    "users",
    "widget_leads",
    "widget_limits",
    "widget_preview",
    "widget_sites",
    "widget_test_call",
    "widgets",
]
