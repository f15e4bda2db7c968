"""PBX connection: credentials, connection check, webhook address, group and user sync.

Saving an account asks the PBX first (``users_info``) and syncs its groups; when the
PBX refuses, the form comes back with the reason in words and nothing is stored,
unless the owner ticks "save without checking". That one waits in the request, as the
form needs the answer before it stores anything: an owner's saves wait on a PBX one at a
time (``_one_at_a_time``), each for at most ``WIDGET_PBX_DEADLINE``. "Check the
connection" and "refresh groups" run in the queue (``dispatch/connection_check.py``)
and the page waits for their answer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from sqlalchemy import delete, func, select

from ..bulkhead import Bulkhead
from ..dev import installation
from ..dispatch import connection_check
from ..extensions import db, limiter
from ..models import CallEvent, PbxAccount, PbxJournal, Widget, new_public_id, utcnow
from ..pbx import directory
from ..pbx.client import PRODUCTION_API, TEST_API, PbxError, client_for
from ..pbx.journal import MOSCOW_OFFSET
from .access import login_required, owned_or_404
from .account import ADDRESS_ERRORS
from .blueprint import bp
from .i18n import _
from .pbx_forms import PbxForm
from .pbx_journal import recent_journals

WEBHOOK_METHODS = ("call_events", "get_number_info", "history_file_completed")


@contextlib.contextmanager
def _one_at_a_time() -> Iterator[None]:
    """Ask a PBX for this owner only if none of their requests waits on one now.

    :raise PbxError: ``busy``, when one does: nothing was sent.
    """
    shares = current_app.extensions.setdefault("web_pbx_bulkhead", Bulkhead(1))
    with shares.hold(f"owner:{g.owner.id}") as held:
        if not held:
            raise PbxError(
                "another request of this owner waits on a PBX", result="busy", retryable=True
            )
        yield


def key_tail(key: str) -> str:
    """The last four characters of a signing key: enough to recognise it, never to use it."""
    return "••••" + (key or "")[-4:]


def pbx_error_text(exc: PbxError, api_url: str | None = None) -> str:
    """The PBX client's error as a sentence an owner can act on.

    For an address other than Rostelecom's own, only an answer shaped like the API's gets
    its own words: anything else (closed port, timeout, TLS, another service's HTTP status)
    reads the same, so the form cannot be used to scan which ports and services answer.
    """
    result = str(exc.result or "")
    status = exc.http_status
    if result == "busy":
        return _(
            "Предыдущая проверка подключения ещё ждёт ответа АТС. Подождите полминуты и "
            "попробуйте снова."
        )
    if result == "no-queue":
        return _(
            "Проверка не запущена: очередь задач сервиса сейчас недоступна. Попробуйте через "
            "минуту; если не поможет, сообщите тому, кто обслуживает сервис."
        )
    if result == "forbidden-address":
        return _(ADDRESS_ERRORS["private"])
    if api_url not in (None, PRODUCTION_API, TEST_API) and exc.answer is None:
        return _(
            "По этому адресу API Ростелекома не отвечает. Проверьте адрес API и, для https, "
            "сертификат."
        )
    if result == "too-large":
        return _("АТС прислала слишком большой ответ, и он не был прочитан. Проверьте адрес API.")
    if result in ("http-401", "http-403", "-403") or status in (401, 403):
        return _(
            "АТС отклонила код идентификации или подпись. Проверьте код и ключ в панели ВАТС "
            "и что IP-адрес этого сервера разрешён."
        )
    if result == "tls":
        return _(
            "Не удалось проверить сертификат АТС. Загрузите в поле сертификата Russian Trusted "
            "Root CA и Russian Trusted Sub CA или «Сертификат API» из панели ВАТС."
        )
    if result == "connection":
        return _(
            "Не удалось соединиться с адресом API. Проверьте адрес и доступ этого сервера в интернет."
        )
    if result == "timeout":
        return _("АТС не ответила вовремя. Попробуйте ещё раз позже.")
    if status is not None and (status >= 500 or status == 429):
        return _("У АТС сейчас сбой (HTTP %(status)s). Попробуйте позже.", status=status)
    if status in (404, 405) or result in ("-404", "bad-response") or result.startswith("http-"):
        return _("По этому адресу отвечает не API Ростелекома. Проверьте адрес API.")
    message = exc.message.split(": ", 1)[-1]
    if result == "-1" and "омен" in message:
        return _("АТС не знает этот домен. Проверьте домен ВАТС.")
    return _("АТС ответила ошибкой: %(message)s (код %(code)s).", message=message, code=result)


def webhook_urls(account: PbxAccount) -> dict[str, str]:
    base = directory.webhook_base(account)
    return {"base": base, **{m: f"{base}/{m}" for m in WEBHOOK_METHODS}}


def _accounts():
    return db.session.scalars(
        select(PbxAccount).where(PbxAccount.owner_id == g.owner.id).order_by(PbxAccount.id)
    ).all()


def _widget_count(account: PbxAccount) -> int:
    return db.session.scalar(
        select(func.count(Widget.id)).where(Widget.pbx_account_id == account.id)
    )


def _detail(account: PbxAccount):
    check = _check_view(account)
    waiting = check is not None and check["state"] == connection_check.CheckState.WAITING
    users = {u.pin: u for u in account.users}
    members = {
        group.id: [users.get(p, p) for p in (group.member_pins or [])] for group in account.groups
    }
    return render_template(
        "admin/pbx/detail.html",
        account=account,
        urls=webhook_urls(account),
        key_tail=key_tail(account.sign_key),
        members=members,
        users=sorted(account.users, key=lambda u: u.pin),
        check=check,
        refresh=connection_check.REFRESH_SECONDS if waiting else None,
        widget_count=_widget_count(account),
        journals=recent_journals(account),
        today=(utcnow() + MOSCOW_OFFSET).date().isoformat(),
    )


def _owner_key() -> str:
    return f"owner:{g.owner.id}" if g.get("owner") else "anonymous"


@bp.get("/pbx")
@login_required
def pbx_list():
    accounts = _accounts()
    return render_template("admin/pbx/list.html", accounts=accounts, key_tail=key_tail)


@bp.route("/pbx/new", methods=["GET", "POST"])
@login_required
@limiter.limit("20/minute", key_func=_owner_key, methods=["POST"])  # saving asks the PBX
def pbx_new():
    form = PbxForm()
    if form.validate_on_submit():
        trial = PbxAccount(
            api_url=form.api_url(),
            client_id=form.client_id.data.strip(),
            sign_key=form.sign_key.data.strip(),
            domain=(form.domain.data or "").strip() or None,
            ca_bundle=form.ca_pem,
        )
        directory_data, problem = _ask_pbx(trial)
        if problem and not form.save_unchecked.data:
            return _form_page(form, None, problem)
        account = directory.add_pbx(
            g.owner,
            form.api_url(),
            form.client_id.data,
            form.sign_key.data,
            form.domain.data,
            form.ca_pem,
        )
        _use_pending_address(account)
        form.apply_call_settings(account)
        db.session.commit()
        _report_saved(account, directory_data, problem)
        return redirect(url_for("admin.pbx_detail", account_id=account.id))
    simulator = installation.pbx_simulator()
    if request.method == "GET" and simulator:
        # `widget-server demo`: its PBX is the simulator, whose address nobody knows yet.
        form.api_choice.data, form.custom_url.data = "custom", simulator
    return _form_page(form, None)


def _pending_public_id() -> str:
    """The public id the next new account will get, so that its webhook address can be
    shown on the form: the ВАТС panel asks for it while making the code and the key."""
    pending = session.get("pending_pbx_id")
    taken = pending and db.session.scalar(
        select(PbxAccount.id).where(PbxAccount.public_id == pending)
    )
    if not pending or taken:
        pending = session["pending_pbx_id"] = new_public_id("pbx_")
    return pending


def _use_pending_address(account: PbxAccount) -> None:
    pending = session.pop("pending_pbx_id", None)
    taken = pending and db.session.scalar(
        select(PbxAccount.id).where(PbxAccount.public_id == pending)
    )
    if pending and pending.startswith("pbx_") and not taken:
        account.public_id = pending


def _ask_pbx(account: PbxAccount) -> tuple[dict | None, str | None]:
    """(the users_info answer, None), or (None, why the PBX refused in words)."""
    try:
        with _one_at_a_time():
            return client_for(account).users_info(), None
    except PbxError as exc:
        return None, pbx_error_text(exc, account.api_url)


def _report_saved(account: PbxAccount, data: dict | None, problem: str | None) -> None:
    """Sync the groups from the answer already had and say what the PBX gave; commits."""
    if data is None:
        flash(_("Сохранено без проверки: АТС не ответила.") + " " + (problem or ""), "error")
        return
    users, groups = directory.sync_groups(account, data)
    flash(
        _(
            "АТС ответила: сотрудников %(users)s, групп %(groups)s. "
            "Вставьте адрес внешней системы в панель ВАТС.",
            users=users,
            groups=groups,
        ),
        "success",
    )


def _form_page(form: PbxForm, account: PbxAccount | None, problem: str | None = None):
    status = 400 if (form.errors or problem) else 200
    pending = None if account else f"{current_app.config['PUBLIC_URL']}/pbx/{_pending_public_id()}"
    return render_template(
        "admin/pbx/form.html",
        form=form,
        account=account,
        pending_webhook=pending,
        simulator_panel=installation.simulator_panel(pending) if pending else None,
        key_tail=key_tail(account.sign_key) if account else None,
        problem=problem,
    ), status


@bp.route("/pbx/<int:account_id>/edit", methods=["GET", "POST"])
@login_required
@limiter.limit("20/minute", key_func=_owner_key, methods=["POST"])  # saving asks the PBX
def pbx_edit(account_id: int):
    account = owned_or_404(PbxAccount, account_id)
    form = PbxForm(account=account)
    if request.method == "GET":
        if account.api_url == PRODUCTION_API:
            form.api_choice.data = "production"
        elif account.api_url == TEST_API:
            form.api_choice.data = "test"
        else:
            form.api_choice.data, form.custom_url.data = "custom", account.api_url
        form.client_id.data = account.client_id
        form.domain.data = account.domain
        form.show_call_settings(account)
    if form.validate_on_submit():
        _apply_form(account, form)
        directory_data, problem = _ask_pbx(account)
        if problem and not form.save_unchecked.data:
            db.session.rollback()  # the stored connection stays as it was
            return _form_page(form, account, problem)
        db.session.commit()
        _report_saved(account, directory_data, problem)
        return redirect(url_for("admin.pbx_detail", account_id=account.id))
    return _form_page(form, account)


def _apply_form(account: PbxAccount, form: PbxForm) -> None:
    account.api_url = form.api_url()
    account.client_id = form.client_id.data.strip()
    if (form.sign_key.data or "").strip():
        account.sign_key = form.sign_key.data.strip()
    account.domain = (form.domain.data or "").strip() or None
    if form.ca_pem:
        account.ca_bundle = form.ca_pem
    elif form.remove_ca.data:
        account.ca_bundle = None
    form.apply_call_settings(account)


@bp.get("/pbx/<int:account_id>")
@login_required
def pbx_detail(account_id: int):
    return _detail(owned_or_404(PbxAccount, account_id))


@bp.post("/pbx/<int:account_id>/check")
@login_required
@limiter.limit("20/minute", key_func=_owner_key)  # each one asks the PBX
def pbx_check(account_id: int):
    """Ask the PBX for its directory without storing it: do the credentials work?"""
    return _book(account_id, connection_check.CheckKind.CHECK)


@bp.post("/pbx/<int:account_id>/sync")
@login_required
@limiter.limit("20/minute", key_func=_owner_key)
def pbx_sync(account_id: int):
    """Refresh the account's groups and users from the PBX."""
    return _book(account_id, connection_check.CheckKind.SYNC)


def _book(account_id: int, kind: connection_check.CheckKind):
    """Book the check in the queue and show the page, which waits for its answer."""
    account = owned_or_404(PbxAccount, account_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    if not connection_check.book(account, kind):
        flash(
            _(
                "Предыдущая проверка подключения ещё ждёт ответа АТС. Подождите полминуты и "
                "попробуйте снова."
            ),
            "error",
        )
    return redirect(url_for("admin.pbx_detail", account_id=account.id) + "#check-result")


def _check_view(account: PbxAccount) -> dict | None:
    """The last check as the page shows it: waiting, or its answer in words."""
    state = connection_check.state(account)
    if state is None:
        return None
    view = {"state": state.value, "kind": account.check_kind, "at": account.check_done_at}
    answer = account.check_answer or {}
    if state is connection_check.CheckState.DONE:
        view["ok"] = bool(answer.get("ok"))
        view.update(
            {k: v for k, v in answer.items() if k in ("groups", "user_count", "group_count")}
        )
        if not view["ok"]:
            view["text"] = pbx_error_text(connection_check.failure(answer), account.api_url)
    return view


@bp.post("/pbx/<int:account_id>/delete")
@login_required
def pbx_delete(account_id: int):
    account = owned_or_404(PbxAccount, account_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    count = _widget_count(account)
    if count:
        # Widgets point at the account, and their request logs at the widgets.
        flash(
            _("Это подключение используют виджеты (%(count)s). Сначала удалите их.", count=count),
            "error",
        )
        return redirect(url_for("admin.pbx_detail", account_id=account.id))
    # Events with no call of ours (e.g. calls made from the PBX itself) go with the account.
    db.session.execute(delete(CallEvent).where(CallEvent.pbx_account_id == account.id))
    db.session.execute(delete(PbxJournal).where(PbxJournal.pbx_account_id == account.id))
    db.session.delete(account)
    db.session.commit()
    flash(_("Подключение удалено."), "success")
    return redirect(url_for("admin.pbx_list"))
