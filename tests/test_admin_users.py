"""The Users page: installation admins list, create, promote, reset and delete owners."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import func, select

from widget_server.extensions import db
from widget_server.models import CallAttempt, CallbackRequest, Owner, PbxAccount, Widget

from .admin_support import PASSWORD, make_owner, make_site_objects, post_form, sign_in
from .conftest import make_app


@pytest.fixture
def admin_id(app):
    return make_owner(app, "admin@example.com", admin=True)


@pytest.fixture
def admin_client(app, admin_id):
    client = app.test_client()
    sign_in(client, "admin@example.com")
    return client


def post_users(client, path, data=None):
    return post_form(client, f"/admin/users{path}", data or {}, page_url="/admin/users")


def owners(app) -> dict[str, bool]:
    with app.app_context():
        return {o.email: o.is_admin for o in db.session.scalars(select(Owner))}


def test_the_users_page_and_its_actions_answer_404_to_an_owner_who_is_not_an_admin(app, admin_id):
    target = make_owner(app, "owner@example.com")
    client = app.test_client()
    sign_in(client)
    assert client.get("/admin/users").status_code == 404
    assert client.get(f"/admin/users/{admin_id}/delete").status_code == 404
    token_page = client.get("/admin/account")
    for path in (
        "",
        f"/{admin_id}/admin",
        f"/{target}/admin",
        f"/{admin_id}/reset",
        f"/{admin_id}/delete",
    ):
        data = {"email": "x@example.com", "confirm_email": "admin@example.com"}
        response = post_form(client, f"/admin/users{path}", data, page_url="/admin/account")
        assert response.status_code == 404, path
    assert token_page.status_code == 200
    assert 'href="/admin/users"' not in token_page.text
    assert owners(app) == {"admin@example.com": True, "owner@example.com": False}


def test_the_users_page_asks_a_signed_out_visitor_to_sign_in(client):
    response = client.get("/admin/users")
    assert response.status_code == 302 and "/admin/sign-in" in response.headers["Location"]


def test_an_admin_sees_every_owner_with_their_role(app, admin_client):
    make_owner(app, "shop@example.com")
    html = admin_client.get("/admin/users").text
    assert "admin@example.com" in html and "shop@example.com" in html
    assert 'href="/admin/users"' in html and 'aria-current="page"' in html
    # No buttons to demote or delete oneself.
    assert html.count("Удалить…") == 1


def test_an_admin_creates_an_owner_with_a_password_who_can_then_sign_in(app, admin_client):
    response = post_users(
        admin_client, "", {"email": "New@Shop.example", "password": "shop password 1"}
    )
    assert response.status_code == 302
    assert owners(app)["new@shop.example"] is False
    assert sign_in(app.test_client(), "new@shop.example", "shop password 1").status_code == 302


def test_an_owner_created_without_a_password_gets_a_link_to_set_one(app, admin_client, caplog):
    with caplog.at_level(logging.WARNING):
        response = post_users(admin_client, "", {"email": "invitee@shop.example", "is_admin": "y"})
    assert response.status_code == 302
    assert owners(app)["invitee@shop.example"] is True
    link = re.search(r"(/admin/reset/\S+)", caplog.text)
    assert link, caplog.text
    page = "журнал сервера" in admin_client.get("/admin/users").text
    assert page
    invitee = app.test_client()
    response = post_form(
        invitee,
        link.group(1),
        {"new_password": "my own password", "confirm_password": "my own password"},
    )
    assert response.status_code == 302
    assert sign_in(invitee, "invitee@shop.example", "my own password").status_code == 302


@pytest.mark.parametrize(
    ("data", "field_id", "message"),
    [
        ({"email": "admin@example.com"}, "email", "Аккаунт с этой эл. почтой уже есть."),
        ({"email": "not an address"}, "email", "Введите адрес эл. почты, например name@shop.ru."),
        ({"email": ""}, "email", "Заполните это поле."),
        ({"email": "ok@example.com", "password": "short"}, "password", "Не короче 8 символов."),
    ],
)
def test_bad_new_owner_input_gets_a_message_next_to_the_field(
    app, admin_client, data, field_id, message
):
    response = post_users(admin_client, "", data)
    assert response.status_code == 400
    assert f'<p class="error" id="{field_id}-error">{message}</p>' in response.text
    assert owners(app) == {"admin@example.com": True}


def test_an_admin_makes_another_owner_an_admin_and_back(app, admin_client):
    target = make_owner(app, "shop@example.com")
    assert post_users(admin_client, f"/{target}/admin").status_code == 302
    assert owners(app)["shop@example.com"] is True
    assert post_users(admin_client, f"/{target}/admin").status_code == 302
    assert owners(app)["shop@example.com"] is False


def test_an_admin_cannot_demote_or_delete_themselves(app, admin_client, admin_id):
    demote = post_users(admin_client, f"/{admin_id}/admin")
    assert demote.status_code == 400
    assert "Нельзя снять права администратора с самого себя." in demote.text
    delete = post_users(admin_client, f"/{admin_id}/delete", {"confirm_email": "admin@example.com"})
    assert delete.status_code == 400
    assert "Нельзя удалить самого себя." in delete.text
    assert admin_client.get(f"/admin/users/{admin_id}/delete").status_code == 400
    assert owners(app) == {"admin@example.com": True}


def test_an_admin_sends_an_owner_a_reset_link(app, admin_client, caplog):
    target = make_owner(app, "shop@example.com")
    with caplog.at_level(logging.WARNING):
        response = post_users(admin_client, f"/{target}/reset")
    assert response.status_code == 302
    assert "shop@example.com" in caplog.text
    link = re.search(r"(/admin/reset/\S+)", caplog.text).group(1)
    assert app.test_client().get(link).status_code == 200


def test_deleting_an_owner_needs_their_email_typed_and_takes_everything_of_theirs(
    app, admin_client
):
    target = make_owner(app, "shop@example.com")
    objects = make_site_objects(app, target)
    keeper = make_owner(app, "keeper@example.com")
    kept = make_site_objects(app, keeper, phone="+79035550011")
    confirm = admin_client.get(f"/admin/users/{target}/delete")
    assert confirm.status_code == 200
    assert "shop@example.com" in confirm.text
    wrong = post_form(
        admin_client, f"/admin/users/{target}/delete", {"confirm_email": "someone@example.com"}
    )
    assert wrong.status_code == 400
    assert '<p class="error" id="confirm_email-error">Эл. почта не совпадает.</p>' in wrong.text
    assert "shop@example.com" in owners(app)
    right = post_form(
        admin_client, f"/admin/users/{target}/delete", {"confirm_email": "Shop@Example.com "}
    )
    assert right.status_code == 302
    assert set(owners(app)) == {"admin@example.com", "keeper@example.com"}
    with app.app_context():
        assert db.session.get(Widget, objects["widget_id"]) is None
        assert db.session.get(PbxAccount, objects["account_id"]) is None
        assert db.session.get(CallAttempt, objects["attempt_id"]) is None
        assert db.session.get(CallbackRequest, kept["request_id"]) is not None
        assert db.session.scalar(select(func.count(CallbackRequest.id))) == 1
    # The deleted owner's session is over.
    assert app.test_client().get(f"/admin/users/{target}/delete").status_code == 302


def test_a_missing_owner_id_answers_404(admin_client):
    assert admin_client.get("/admin/users/999/delete").status_code == 404
    assert post_users(admin_client, "/999/admin").status_code == 404


def test_a_deleted_owners_open_session_ends(app, admin_client):
    target = make_owner(app, "shop@example.com")
    victim = app.test_client()
    sign_in(victim, "shop@example.com", PASSWORD)
    post_form(admin_client, f"/admin/users/{target}/delete", {"confirm_email": "shop@example.com"})
    assert victim.get("/admin/account").status_code == 302


def test_the_demo_owner_is_an_installation_admin_so_the_demo_shows_the_users_page(
    tmp_path, monkeypatch
):
    from widget_server.dev import demo

    from .conftest import TEST_SECRET, database_url

    app = make_app(tmp_path)  # migrates this test's database
    env = {
        "WIDGET_DEV": "1",
        "WIDGET_SECRET_KEY": TEST_SECRET,
        "WIDGET_ALLOW_PRIVATE_NETWORKS": "1",
        "WIDGET_DATABASE_URL": database_url(tmp_path),
        "WIDGET_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # so the test undoes what _setup sets
    demo._setup(env, "http://127.0.0.1:9")
    demo._setup(env, "http://127.0.0.1:9")  # a second run reuses the owner
    assert owners(app) == {demo.DEMO_EMAIL: True}
