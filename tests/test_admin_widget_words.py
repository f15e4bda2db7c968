"""The widget editor in words: hours that read right, the open/closed line, two languages."""

from __future__ import annotations

import re

from widget_server.extensions import db
from widget_server.models import Widget
from widget_server.visitor import seen

from . import test_admin_widgets as widgets_page
from .test_admin_widgets import only_widget, post_widget

# The widget pages' fixtures: an app, a signed-in owner, a PBX account with two groups.
app, client, account_id = widgets_page.app, widgets_page.client, widgets_page.account_id

SHOP = "https://shop.example"


def custom_block(html: str) -> str:
    return re.search(r'<fieldset id="custom-hours"[^>]*>', html).group(0)


def test_the_custom_hours_block_shows_only_when_own_hours_are_chosen(app, client, account_id):
    new = client.get("/admin/widgets/new").get_data(as_text=True)
    assert " hidden" in custom_block(new)  # the default hours are chosen
    assert 'src="/static/admin/editor.js"' in new  # which toggles it as the choice changes
    post_widget(client, hours_mode="custom", day_wed="", day_thu="", day_fri="")
    with app.app_context():
        widget_id = only_widget(app).id
    html = client.get(f"/admin/widgets/{widget_id}").get_data(as_text=True)
    assert " hidden" not in custom_block(html)
    # An empty day reads "выходной", not a grey 09:00-20:00 that looks like hours.
    wednesday = re.search(r'<input[^>]*id="day_wed"[^>]*>', html).group(0)
    assert 'placeholder="выходной"' in wednesday and 'value=""' in wednesday


def test_a_bad_day_is_explained_in_russian_on_a_russian_page(app, client, account_id):
    response = post_widget(client, day_mon="10")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "«10» — не интервал вида 09:00-20:00." in html
    assert "is not a time" not in html
    overlap = post_widget(client, day_tue="09:00-13:00, 12:00-18:00").get_data(as_text=True)
    assert "«09:00-13:00» и «12:00-18:00» пересекаются." in overlap


def test_the_editor_says_whether_the_widget_is_open_now(app, client, account_id):
    post_widget(client, hours_mode="always")
    with app.app_context():
        widget_id = only_widget(app).id
    html = client.get(f"/admin/widgets/{widget_id}").get_data(as_text=True)
    assert re.search(r'id="open-now"[^>]*>Сейчас открыто: по заявкам звоним сразу.<', html)
    # Custom hours with every day off: closed, and nothing opens in the next two weeks.
    empty = {f"day_{d}": "" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    post_widget(client, f"/admin/widgets/{widget_id}", hours_mode="custom", **empty)
    html = client.get(f"/admin/widgets/{widget_id}").get_data(as_text=True)
    assert "Сейчас закрыто, и в ближайшие две недели рабочих часов нет." in html


def look(http, key: str, **params) -> dict:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    response = http.get(f"/api/v1/widgets/{key}/config?{query}", headers={"Origin": SHOP})
    assert response.status_code == 200
    return response.json


def test_english_texts_and_labels_are_kept_and_served_without_mixing(app, client, account_id):
    seen.forget()
    english = {
        "language": "auto",
        "label_en-101": "Sales",
        "label_en-102": "Support",
        "other_title": "Call me back",
    }
    assert post_widget(client, **english).status_code == 302
    with app.app_context():
        widget = only_widget(app)
        key = widget.public_key
        assert widget.language == "auto"
        assert widget.texts["ru"]["button"] == "Позвоните мне!"
        assert widget.texts["en"] == {"title": "Call me back"}
        assert sorted(wg.label_en for wg in widget.offered_groups) == ["Sales", "Support"]
    russian = look(client, key, lang="ru")
    assert russian["language"] == "ru" and russian["texts"]["button"] == "Позвоните мне!"
    assert {g["label"] for g in russian["groups"]} == {"Продажи", "Поддержка"}
    # By the visitor's browser: English, with English labels and the owner's English title.
    browser = client.get(
        f"/api/v1/widgets/{key}/config",
        headers={"Origin": SHOP, "Accept-Language": "en-GB,en;q=0.9"},
    ).json
    assert browser["language"] == "en" and browser["texts"]["title"] == "Call me back"
    assert {g["label"] for g in browser["groups"]} == {"Sales", "Support"}
    assert browser["texts"]["button"] != "Позвоните мне!"  # the English default


def test_a_browser_reading_english_without_english_labels_gets_the_form_all_in_russian(
    app, client, account_id
):
    assert post_widget(client, language="auto").status_code == 302  # no English labels
    with app.app_context():
        key = only_widget(app).public_key
    config = client.get(
        f"/api/v1/widgets/{key}/config", headers={"Origin": SHOP, "Accept-Language": "en"}
    ).json
    assert config["language"] == "ru"
    assert config["texts"]["button"] == "Позвоните мне!"
    assert {g["label"] for g in config["groups"]} == {"Продажи", "Поддержка"}
    # The script tag's data-lang="en" is the owner's explicit choice and stays English.
    explicit = look(client, key, lang="en")
    assert explicit["language"] == "en" and explicit["texts"]["button"] != "Позвоните мне!"


def test_the_older_flat_texts_still_read_as_the_widget_s_own_language(app, client, account_id):
    post_widget(client)
    with app.app_context():
        widget = db.session.scalar(db.select(Widget))
        widget.texts = {"button": "Старая кнопка"}
        db.session.commit()
        widget_id, key = widget.id, widget.public_key
    assert look(client, key)["texts"]["button"] == "Старая кнопка"
    html = client.get(f"/admin/widgets/{widget_id}").get_data(as_text=True)
    assert 'value="Старая кнопка"' in html
