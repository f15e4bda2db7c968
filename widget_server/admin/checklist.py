"""The dashboard's setup checklist: what a new owner has done, and the one thing to do next.

Every step is read from what really happened (an answer from the PBX, an event received,
the widget loaded on a page, a call through it connected, a channel that can tell the owner
of a missed request), never from a button pressed. The last step replaces what used to be a
red banner on every page of a fresh install; a channel that was linked and now fails still
gets the banner (``templates/admin/_reach.html``): that is news, not a setup step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import url_for
from sqlalchemy import select

from ..extensions import db
from ..models import CallbackRequest, Owner, PbxAccount, Widget, utcnow
from ..notify.channels import linked
from ..notify.email import smtp_configured
from ..notify.reach import failing
from ..visitor import seen
from ..visitor.origins import display_origin
from .blueprint import bp
from .channels import CHANNEL_LABELS
from .i18n import _
from .owner_time import ago
from .widget_sites import refused_sites

# A finished checklist stays on the dashboard this long after the test call, then goes.
SHOW_DONE_FOR = timedelta(days=1)


@dataclass
class Step:
    key: str
    title: str
    state: str  # done | waiting | todo
    text: str  # what happened, or what to do next
    link: str | None = None
    link_text: str | None = None


@dataclass
class Checklist:
    steps: list[Step]

    @property
    def done(self) -> bool:
        return all(s.state == "done" for s in self.steps)

    @property
    def current(self) -> Step | None:
        """The first step the owner has to act on."""
        return next((s for s in self.steps if s.state == "todo"), None)

    @property
    def next_url(self) -> str:
        step = self.current
        return step.link if step and step.link else url_for("admin.widgets_list")


def _pbx_steps(accounts: list[PbxAccount]) -> list[Step]:
    answered = [a for a in accounts if a.synced_at is not None]
    account = (answered or accounts or [None])[0]
    if account is None:
        pbx = Step(
            "pbx",
            _("АТС подключена"),
            "todo",
            _(
                "Создайте в панели ВАТС код идентификации и ключ интеграционного API и вставьте их на "
                "странице подключения АТС."
            ),
            url_for("admin.pbx_new"),
            _("Подключить АТС"),
        )
    elif not answered:
        pbx = Step(
            "pbx",
            _("АТС подключена"),
            "todo",
            _("АТС сохранена, но не ответила: проверьте код идентификации и ключ."),
            url_for("admin.pbx_edit", account_id=account.id),
            _("Изменить подключение"),
        )
    else:
        pbx = Step(
            "pbx",
            _("АТС подключена"),
            "done",
            _("АТС ответила: код и ключ верны."),
            url_for("admin.pbx_detail", account_id=account.id),
            _("Страница АТС"),
        )
    return [pbx, _webhook_step(accounts, account), _groups_step(accounts, account, bool(answered))]


def _webhook_step(accounts: list[PbxAccount], account: PbxAccount | None) -> Step:
    heard = [a for a in accounts if a.last_event_at is not None]
    if heard:
        hook = Step(
            "webhook",
            _("АТС присылает события"),
            "done",
            _("Последнее событие от АТС: %(ago)s.", ago=ago(max(a.last_event_at for a in heard))),
        )
    elif account is None:
        hook = Step(
            "webhook",
            _("АТС присылает события"),
            "todo",
            _("После подключения АТС вставьте адрес внешней системы в панель ВАТС."),
        )
    else:
        hook = Step(
            "webhook",
            _("АТС присылает события"),
            "waiting",
            _(
                "Вставьте адрес внешней системы со страницы АТС в панель ВАТС. Первое событие придёт "
                "с тестовым звонком."
            ),
            url_for("admin.pbx_detail", account_id=account.id) + "#webhook-base",
            _("Адрес внешней системы"),
        )
    return hook


def _groups_step(accounts: list[PbxAccount], account: PbxAccount | None, answered: bool) -> Step:
    grouped = [a for a in accounts if a.groups]
    if grouped:
        groups = Step(
            "groups",
            _("Группы получены"),
            "done",
            _("Групп в АТС: %(n)s.", n=sum(len(a.groups) for a in grouped)),
        )
    elif not answered:
        groups = Step(
            "groups",
            _("Группы получены"),
            "todo",
            _("Группы (отделы) придут от АТС, когда она ответит."),
        )
    else:
        groups = Step(
            "groups",
            _("Группы получены"),
            "todo",
            _(
                "В АТС нет ни одной группы: создайте группу с операторами в панели ВАТС и нажмите "
                "«Обновить группы и сотрудников»."
            ),
            url_for("admin.pbx_detail", account_id=account.id) + "#groups",
            _("Страница АТС"),
        )
    return groups


def _widget_steps(owner: Owner, widgets: list[Widget], ready: bool) -> list[Step]:
    if not widgets:
        widget = Step(
            "widget",
            _("Виджет создан"),
            "todo",
            _("Создайте виджет: сайт, на котором он стоит, и отделы, которым звонить.")
            if ready
            else _("Виджет создаётся после подключения АТС и получения групп."),
            url_for("admin.widget_new") if ready else None,
            _("Создать виджет") if ready else None,
        )
        install = Step(
            "install",
            _("Виджет стоит на сайте"),
            "todo",
            _("Когда виджет будет создан, вставьте его код на страницы сайта."),
        )
        return [widget, install]
    first = widgets[0]
    widget = Step(
        "widget",
        _("Виджет создан"),
        "done",
        first.name or first.public_key,
        url_for("admin.widget_edit", widget_id=first.id),
        _("Открыть виджет"),
    )
    sightings = [(w, s) for w in widgets if (s := seen.last_seen(w))]
    if sightings:
        shown, (origin, when) = max(sightings, key=lambda ws: ws[1][1])
        install = Step(
            "install",
            _("Виджет стоит на сайте"),
            "done",
            _(
                "Установлен на сайте: %(site)s, последний показ %(ago)s.",
                site=display_origin(origin).split("://", 1)[-1],
                ago=ago(when),
            ),
            url_for("admin.widget_edit", widget_id=shown.id),
            _("Открыть виджет"),
        )
    else:
        install = _refused_install_step(widgets) or Step(
            "install",
            _("Виджет стоит на сайте"),
            "todo",
            _(
                "Вставьте код виджета на страницы сайта и откройте любую из них: здесь появится сайт "
                "и время последнего показа."
            ),
            url_for("admin.widget_edit", widget_id=first.id) + "#snippet",
            _("Код для сайта"),
        )
    return [widget, install]


def _refused_install_step(widgets: list[Widget]) -> Step | None:
    """The code is on a site missing from the widget's list: say which, and where to add it."""
    for widget in widgets:
        refused = refused_sites(widget)
        if refused:
            return Step(
                "install",
                _("Виджет стоит на сайте"),
                "todo",
                _(
                    "Виджет пытались показать на сайте %(site)s, которого нет в списке — добавить?",
                    site=refused[0]["site"],
                ),
                url_for("admin.widget_edit", widget_id=widget.id) + "#refused-sites",
                _("Добавить сайт"),
            )
    return None


def _test_step(owner: Owner, widgets: list[Widget]) -> tuple[Step, datetime | None]:
    # The config page's test call, or a call ordered through the widget on a site (the
    # demo's shop, the owner's own page): either one connected proves the whole path.
    ids = [w.id for w in widgets]
    latest = (
        db.session.execute(
            select(CallbackRequest.connected_at, CallbackRequest.is_test)
            .where(CallbackRequest.widget_id.in_(ids), CallbackRequest.connected_at.is_not(None))
            .order_by(CallbackRequest.connected_at.desc())
            .limit(1)
        ).first()
        if ids
        else None
    )
    if latest is not None:
        connected, is_test = latest
        text = (
            _(
                "Тестовый звонок соединился %(ago)s: виджет готов принимать заявки.",
                ago=ago(connected),
            )
            if is_test
            else _(
                "Звонок через виджет соединился %(ago)s: виджет готов принимать заявки.",
                ago=ago(connected),
            )
        )
        return Step("test_call", _("Тестовый звонок соединён"), "done", text), connected
    if not widgets:
        return Step(
            "test_call",
            _("Тестовый звонок соединён"),
            "todo",
            _("Закажите тестовый звонок на свой номер, когда виджет будет создан."),
        ), None
    if not owner.phone:
        return Step(
            "test_call",
            _("Тестовый звонок соединён"),
            "todo",
            _("Укажите свой номер в профиле: на него придёт тестовый звонок."),
            url_for("admin.account") + "#profile-title",
            _("Профиль"),
        ), None
    return Step(
        "test_call",
        _("Тестовый звонок соединён"),
        "todo",
        _(
            "Закажите тестовый звонок на странице виджета и возьмите трубку: сначала позвонят "
            "оператору, потом вам."
        ),
        url_for("admin.widget_edit", widget_id=widgets[0].id) + "#test-call",
        _("Тестовый звонок"),
    ), None


def checklist(owner: Owner) -> Checklist | None:
    """The owner's checklist, or None once it has been done for a while."""
    accounts = db.session.scalars(
        select(PbxAccount).where(PbxAccount.owner_id == owner.id).order_by(PbxAccount.id)
    ).all()
    widgets = db.session.scalars(
        select(Widget).where(Widget.owner_id == owner.id).order_by(Widget.id)
    ).all()
    steps = _pbx_steps(accounts)
    ready = steps[0].state == "done" and steps[2].state == "done"
    steps += _widget_steps(owner, widgets, ready)
    test, connected_at = _test_step(owner, widgets)
    steps += [test, _notify_step(owner)]
    result = Checklist(steps)
    if result.done and connected_at and utcnow() - connected_at > SHOW_DONE_FOR:
        return None
    return result


def _notify_step(owner: Owner) -> Step:
    """Will the owner hear of a request nobody answered? (``notify/reach.py``)"""
    title = _("Вы узнаете о пропущенных заявках")
    channels = linked(owner)
    broken = failing(owner) & set(channels)
    working = [_(CHANNEL_LABELS.get(c, c)) for c in channels if c not in broken]
    if working:
        return Step(
            "notify",
            title,
            "done",
            _("О пропущенных заявках сообщим: %(channels)s.", channels=", ".join(working)),
            url_for("admin.account") + "#channels-title",
            _("Проверить каналы"),
        )
    if broken:
        text = _(
            "Подключённые каналы (%(names)s) не приняли последнее уведомление, поэтому "
            "посетителям не обещают перезвонить. Как только уведомление дойдёт, обещание "
            "вернётся.",
            names=", ".join(_(CHANNEL_LABELS.get(c, c)) for c in channels),
        )
        link_text = _("Проверить каналы")
    else:
        text = _(
            "Ни один канал уведомлений не подключён, поэтому посетителям не обещают перезвонить."
        )
        if not smtp_configured():
            text = (
                _(
                    "Письма пока не уходят: на сервере не настроена отправка почты, об этом нужно "
                    "сказать администратору сервиса."
                )
                + " "
                + text
            )
        link_text = _("Подключить Telegram, Битрикс24 или amoCRM")
    return Step(
        "notify", title, "todo", text, url_for("admin.account") + "#channels-title", link_text
    )


@bp.record_once
def _template_global(state) -> None:
    # A global, so that the dashboard's partial asks for it and the view stays as it is.
    state.app.jinja_env.globals["setup_checklist"] = checklist
