"""The departments a widget offers: the PBX groups on the editor, in the owner's order and
with their names for visitors, as shown from a saved widget and as posted back."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request

from ..models import PbxAccount, Widget
from .i18n import _


@dataclass
class GroupRow:
    """One PBX group on the editor: offered or not, its label for visitors and its place."""

    pin: str
    name: str
    offered: bool
    label: str
    order: int | str
    error: str | None = None


def group_rows(account: PbxAccount, widget: Widget | None) -> list[GroupRow]:
    """The account's groups as the editor shows them, from the saved widget."""
    offered = {wg.group.pin: wg for wg in (widget.offered_groups if widget else [])}
    rows = []
    for n, group in enumerate(account.groups, 1):
        wg = offered.get(group.pin)
        rows.append(
            GroupRow(
                pin=group.pin,
                name=group.name,
                offered=wg is not None if widget else n == 1,
                label=wg.label if wg else group.name,
                order=(wg.position + 1) if wg else n,
            )
        )
    rows.sort(key=lambda r: (not r.offered, int(r.order) if str(r.order).isdigit() else 99))
    return rows


def groups_from_request(account: PbxAccount) -> tuple[list[GroupRow], list[tuple[str, str]], str]:
    """The posted group rows: (rows to show again, [(pin, label)] in order, general error)."""
    form = request.form
    chosen = [p.strip() for p in form.getlist("groups") if p.strip()]
    known = {g.pin: g for g in account.groups}
    unknown = [p for p in chosen if p not in known]
    rows = []
    for group in account.groups:
        label = (form.get(f"label-{group.pin}") or "").strip()
        order = (form.get(f"order-{group.pin}") or "").strip()
        row = GroupRow(group.pin, group.name, group.pin in chosen, label or group.name, order)
        if row.offered:
            if len(label) > 120:
                row.error = _("Название для посетителей: не длиннее 120 символов.")
            elif not (order.isdigit() and 1 <= int(order) <= 99):
                row.error = _("Порядок: число от 1 до 99.")
        rows.append(row)
    error = ""
    if unknown:
        error = _(
            "Группы %(pins)s нет на этой АТС. Обновите группы на странице АТС.",
            pins=", ".join(unknown[:3])[:60],
        )
    elif not chosen:
        error = _("Выберите хотя бы один отдел.")
    offered = sorted(
        (r for r in rows if r.offered and not r.error), key=lambda r: (int(r.order), r.pin)
    )
    return rows, [(r.pin, r.label) for r in offered], error
