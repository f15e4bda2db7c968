"""Widgets: create, edit, pause, delete, embed snippet (the live preview is
``widget_preview.py``, the test call ``widget_test_call.py``).

A widget with requests is never deleted: its request log (numbers, consent,
calls, recordings) would go with it. It can be paused instead, which the
widget API answers with "paused" and stores nothing.
"""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from .. import setup
from ..dispatch import schedule
from ..extensions import db
from ..models import CallbackRequest, PbxAccount, Widget, WidgetGroup
from ..visitor.embed import snippets
from ..visitor.texts import UI_TEXTS, status_message
from ..visitor.texts import pick_language as widget_language
from . import widget_languages, widget_sites, widget_words, zone_names
from .access import login_required, owned_or_404
from .blueprint import bp
from .i18n import N_, _
from .widget_forms import (
    MAIN_TEXTS,
    WidgetForm,
    day_fields,
    fill_from_widget,
    text_fields,
    validate_hours,
)
from .widget_groups import group_rows, groups_from_request


def _widgets():
    return db.session.scalars(
        select(Widget).where(Widget.owner_id == g.owner.id).order_by(Widget.id)
    ).all()


def _request_count(widget: Widget) -> int:
    return db.session.scalar(
        select(func.count(CallbackRequest.id)).where(CallbackRequest.widget_id == widget.id)
    )


@bp.get("/widgets")
@login_required
def widgets_list():
    accounts = db.session.scalars(select(PbxAccount).where(PbxAccount.owner_id == g.owner.id)).all()
    return render_template("admin/widgets/list.html", widgets=_widgets(), accounts=accounts)


def _apply(widget: Widget, form: WidgetForm, week, groups) -> None:
    """Store the validated form on the widget (the command line's setters, in one go)."""
    widget.name = (form.name.data or "").strip()
    widget.origins = form.origins.clean
    widget_sites.say_stored(form)  # "chai-shop.ru → https://chai-shop.ru"
    widget.language = form.language.data
    widget.ring_strategy = form.ring_strategy.data
    widget.ring_timeout = form.ring_timeout.clean
    widget.color = form.color.data.strip().lower()
    widget.position = form.position.data
    widget.privacy_policy_url = (form.privacy_policy_url.data or "").strip() or None
    widget.visitor_phone = form.visitor_phone.clean
    widget.ask_name = bool(form.ask_name.data)
    widget.texts = widget_languages.texts_to_store(form)
    mode = form.hours_mode.data
    widget.hours = (
        None
        if mode == "default"
        else schedule.parse_hours(schedule.ALWAYS_OPEN)
        if mode == "always"
        else week
    )
    widget.timezone = form.timezone.data.strip()
    widget.days_off = form.days_off.clean
    widget.public_holidays = bool(form.public_holidays.data)
    widget.countries = form.countries.clean
    widget.limits = {
        k: v
        for k, v in (("per_number", form.limit_per_number.clean), ("cap", form.limit_cap.clean))
        if v
    }
    by_pin = {grp.pin: grp for grp in widget.pbx_account.groups}
    existing = {wg.group.pin: wg for wg in widget.offered_groups}
    labels_en = widget_languages.labels_en_from_request()
    kept = []
    for position, (pin, label) in enumerate(groups):
        wg = existing.pop(pin, None) or WidgetGroup(group=by_pin[pin])
        wg.label, wg.position = label, position
        wg.label_en = labels_en.get(pin) if widget.language != "en" else None
        kept.append(wg)
    widget.offered_groups = kept


def _used_groups(widget: Widget) -> dict[str, str]:
    """Offered groups that requests refer to: {pin: label}."""
    used = set(
        db.session.scalars(
            select(CallbackRequest.widget_group_id).where(CallbackRequest.widget_id == widget.id)
        )
    )
    return {wg.group.pin: wg.label for wg in widget.offered_groups if wg.id in used}


def _validate(form: WidgetForm, account: PbxAccount, widget: Widget | None = None):
    form.words = widget_words.read_words(form)
    ok = form.validate_on_submit() and form.words.ok
    week = {}
    if form.hours_mode.data == "custom":
        bad = widget_words.hours_in_words(form, day_fields(form))
        week = None if bad else validate_hours(form)
    rows, groups, groups_error = groups_from_request(account)
    if widget is not None and not groups_error:
        # Requests point at their department: one in the log stays offered (no
        # "hidden" flag in the schema yet), so the log never loses it.
        chosen = {pin for pin, _label in groups}
        dropped = [label for pin, label in _used_groups(widget).items() if pin not in chosen]
        if dropped:
            groups_error = _(
                "Отдел «%(label)s» уже есть в журнале заявок, его нельзя убрать из виджета.",
                label=dropped[0],
            )
    ok = ok and week is not None and not groups_error and not any(r.error for r in rows)
    return ok, week, rows, groups, groups_error


# Labels of the visitor texts that ``widget_forms.TEXT_LABELS`` does not name (issue 28):
# the editor must never show a bare key such as "submit_hint".
MORE_TEXT_LABELS = {
    "submit_hint": N_("Подсказка под кнопкой, пока согласие не отмечено"),
    "waited": N_("Сколько уже ждём ({time} — минуты и секунды)"),
    "error_phone_extension": N_("Ошибка: добавочный номер"),
}


def _label_texts(fields) -> None:
    for f in fields:
        key = f.name.split("_", 1)[1]
        if f.label.text == key and key in MORE_TEXT_LABELS:
            f.label.text = MORE_TEXT_LABELS[key]


def _editor(form, account, widget, rows, groups_error, status=200):
    _label_texts([*text_fields(form), *widget_languages.other_fields(form)])
    latest_test = None
    if widget is not None:
        latest_test = db.session.scalar(
            select(CallbackRequest)
            .where(CallbackRequest.widget_id == widget.id, CallbackRequest.is_test.is_(True))
            .order_by(CallbackRequest.id.desc())
            .limit(1)
        )
    tags = snippets(current_app.config["PUBLIC_URL"], widget.public_key) if widget else None
    return render_template(
        "admin/widgets/edit.html",
        form=form,
        account=account,
        widget=widget,
        rows=rows,
        groups_error=groups_error,
        main_texts=[form[f"text_{k}"] for k in MAIN_TEXTS],
        other_texts=[f for f in text_fields(form) if f.name[5:] not in MAIN_TEXTS],
        days=day_fields(form),
        zones=zone_names.zone_choices(form.timezone.data),
        defaults=UI_TEXTS[widget_language(form.language.data)],
        words=getattr(form, "words", None) or widget_words.words_of(widget),
        country_choices=widget_words.country_choices,
        limit_units=widget_words.UNITS,
        limit_words=widget_words.limit_words,
        open_now=widget_words.open_now_line(widget, g.lang),
        other_language=widget_languages.other_language(form.language.data),
        other_texts_fields=widget_languages.other_fields(form),
        other_defaults=UI_TEXTS[widget_languages.other_language(form.language.data)],
        labels_en=(
            widget_languages.labels_en_from_request()
            if request.method == "POST"
            else widget_languages.labels_en_of(widget)
        ),
        tags=tags,
        latest_test=latest_test,
        latest_test_message=(
            status_message(g.lang, latest_test.status) if latest_test is not None else None
        ),
        limits_base=widget_words.limit_bases(),
    ), status


@bp.route("/widgets/new", methods=["GET", "POST"])
@login_required
def widget_new():
    accounts = db.session.scalars(
        select(PbxAccount).where(PbxAccount.owner_id == g.owner.id).order_by(PbxAccount.id)
    ).all()
    if not accounts:
        flash(_("Виджет звонит через вашу АТС, поэтому первый шаг — подключить её."), "info")
        return redirect(url_for("admin.pbx_new"))
    chosen = request.values.get("pbx", type=int)
    if chosen is None and len(accounts) > 1:
        return render_template("admin/widgets/choose_pbx.html", accounts=accounts)
    account = owned_or_404(PbxAccount, chosen) if chosen is not None else accounts[0]
    if not account.groups:
        flash(
            _(
                "Сначала получите группы АТС: на странице АТС нажмите «Обновить группы и сотрудников»."
            ),
            "info",
        )
        return redirect(url_for("admin.pbx_detail", account_id=account.id))
    form = WidgetForm()
    if request.method == "GET":
        form.language.data = g.lang
        widget_sites.prefill_new(form)  # the demo's sample shop
        return _editor(form, account, None, group_rows(account, None), "")
    ok, week, rows, groups, groups_error = _validate(form, account)
    if not ok:
        return _editor(form, account, None, rows, groups_error, 400)
    widget = setup.add_widget(
        account,
        form.origins.clean,
        groups,
        name=(form.name.data or "").strip(),
        language=widget_language(form.language.data),  # "auto" is set by _apply
        ring_strategy=form.ring_strategy.data,
        ring_timeout=form.ring_timeout.clean,
        color=form.color.data.strip().lower(),
        position=form.position.data,
    )
    _apply(widget, form, week, groups)
    db.session.commit()
    flash(_("Виджет создан. Скопируйте код на сайт."), "success")
    return redirect(url_for("admin.widget_edit", widget_id=widget.id) + "#snippet")


@bp.route("/widgets/<int:widget_id>", methods=["GET", "POST"])
@login_required
def widget_edit(widget_id: int):
    widget = owned_or_404(Widget, widget_id)
    account = widget.pbx_account
    form = WidgetForm()
    if request.method == "GET":
        fill_from_widget(form, widget)
        widget_languages.fill_other(form, widget)
        return _editor(form, account, widget, group_rows(account, widget), "")
    ok, week, rows, groups, groups_error = _validate(form, account, widget)
    if not ok:
        return _editor(form, account, widget, rows, groups_error, 400)
    _apply(widget, form, week, groups)
    db.session.commit()
    flash(_("Изменения сохранены."), "success")
    return redirect(url_for("admin.widget_edit", widget_id=widget.id))


@bp.post("/widgets/<int:widget_id>/pause")
@login_required
def widget_pause(widget_id: int):
    widget = owned_or_404(Widget, widget_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    widget.active = not widget.active
    db.session.commit()
    if widget.active:
        flash(_("Виджет снова работает."), "success")
    else:
        flash(_("Виджет приостановлен: он не показывается на сайте и не принимает заявки."))
    return redirect(url_for("admin.widget_edit", widget_id=widget.id))


@bp.post("/widgets/<int:widget_id>/delete")
@login_required
def widget_delete(widget_id: int):
    widget = owned_or_404(Widget, widget_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    count = _request_count(widget)
    if count:
        flash(
            _(
                "У виджета есть заявки (%(count)s): удалить его нельзя, иначе пропадёт журнал "
                "заявок. Приостановите виджет — он перестанет принимать заявки.",
                count=count,
            ),
            "error",
        )
        return redirect(url_for("admin.widget_edit", widget_id=widget.id))
    db.session.delete(widget)
    db.session.commit()
    flash(_("Виджет удалён."), "success")
    return redirect(url_for("admin.widgets_list"))
