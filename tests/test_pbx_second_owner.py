"""A second owner on the demo simulator: with their own panel pair, or with the demo pair."""

from __future__ import annotations

import requests
from sqlalchemy import select

from widget_server import setup as provisioning
from widget_server.dispatch.hours import ALWAYS_OPEN
from widget_server.extensions import db
from widget_server.models import PbxAccount
from widget_server.pbx import directory

from .conftest import SIM_CLIENT_ID, SIM_SIGN_KEY


def _second_owner(stack, client_id: str, sign_key: str, *, register: bool):
    """Owner two connects to the same simulator; returns (widget key, account id)."""
    with stack.app.app_context():
        owner = provisioning.create_owner("second@example.com", "correct horse")
        account = directory.add_pbx(owner, stack.sim_url, client_id, sign_key)
        account.ring_seconds = 1
        if register:  # what the owner types on the simulator's panel page
            made = requests.post(
                f"{stack.sim_url}/_sim/panel",
                json={"webhook_base": directory.webhook_base(account)},
                timeout=5,
            ).json()
            account.client_id, account.sign_key = made["client_id"], made["sign_key"]
        directory.sync_groups(account)
        widget = provisioning.add_widget(account, [stack.shop_url], [("101", None)])
        widget.ring_timeout = 1  # below the form's minimum, to keep the test short
        widget.hours, widget.public_holidays = ALWAYS_OPEN, False
        db.session.commit()
        return widget.public_key, account.id


def _submit(stack, widget_key: str, phone: str) -> str:
    response = stack.session.post(
        f"{stack.service_url}/api/v1/widgets/{widget_key}/requests",
        json={"phone": phone, "consent": True, "page_url": f"{stack.shop_url}/", "group": "101"},
        headers={"Origin": stack.shop_url},
        timeout=10,
    )
    assert response.status_code == 202, response.text
    return response.json()["handle"]


def _account(stack, account_id: int) -> PbxAccount:
    with stack.app.app_context():
        return db.session.scalar(select(PbxAccount).where(PbxAccount.id == account_id))


def test_a_second_owner_with_a_pair_from_the_sim_panel_gets_calls_and_events(stack):
    widget_key, account_id = _second_owner(stack, "pending", "pending", register=True)
    handle = _submit(stack, widget_key, "+7 916 555-55-55")

    assert stack.wait_final(handle)["status"] == "finished"
    account = _account(stack, account_id)
    assert account.last_event_at is not None and account.events_missing_at is None


def test_a_second_owner_with_the_demo_pair_gets_calls_followed_by_polling(stack):
    widget_key, account_id = _second_owner(stack, SIM_CLIENT_ID, SIM_SIGN_KEY, register=False)
    handle = _submit(stack, widget_key, "+7 916 666-66-66")

    # The events go to the first owner's address: this account hears none, polls.
    assert stack.wait_final(handle, timeout=30)["status"] == "finished"
    assert len(stack.sim_requests("call_back")) == 1
    assert _account(stack, account_id).events_missing_at is not None
