"""The lead statuses in words and colours, for the log, the request page and the CSV."""

from __future__ import annotations

from ..insight.columns import LEAD_STATUSES
from .i18n import N_

LEAD_STATUS_LABELS = dict(
    zip(LEAD_STATUSES, (N_("Новая"), N_("В работе"), N_("Готово"), N_("Спам")), strict=True)
)
_BADGES = {"new": "badge-warn", "done": "badge-ok", "spam": "badge-bad"}


def lead_badge(status: str) -> str:
    return _BADGES.get(status, "")
