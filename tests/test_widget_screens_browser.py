"""Every screen a visitor ends on, in real Chromium on the sample shop, on a phone and a desktop
(issue 28, parts 5, 6, 7 and 11): each says what will happen, offers what exists, draws its own
icon and fits; the countdown promises what the ring plan can keep; a quick submit stays quiet.

The module renders each final state once per viewport (a request submitted in the widget, then
moved to its final status in the database, as the call machine would) and keeps what the page
showed; the tests below read it. Screenshots go to /tmp/shots-widget/ for a person to look at.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from widget_server.dispatch.schedule import ALWAYS_OPEN, DAYS
from widget_server.extensions import db
from widget_server.models import CallbackRequest, Widget
from widget_server.statuses import HeldReason, Status
from widget_server.visitor.promise import wait_seconds

from .conftest import build_stack

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp/shots-widget")
VIEWPORTS = {"390x844": (390, 844), "1280x800": (1280, 800)}
NUMBER = "+74951234567"  # the widget's number for visitors
LINK = "Позвонить: +7\u00a0495\u00a0123\u201145\u201167"  # the number never breaks
FORM_TITLE = "Мы перезвоним вам"
SHADOW = "document.querySelector('callback-widget').shadowRoot"
STATUS_IS = "s => document.querySelector('callback-widget').dataset.status === s"


@dataclass(frozen=True)
class Screen:
    """A final state and what decides its words: who hears of a miss, the visitor's number."""

    status: str  # the data-status it ends on
    heard: bool = True  # a channel of the owner's will tell a person (notify/reach.py)
    phone: bool = True  # the widget has a number for visitors
    held_reason: str | None = None
    closed: bool = False  # no working hours at all: the form has nothing to send


SCREENS = {
    "finished": Screen(Status.FINISHED),
    "no_operator": Screen(Status.NO_OPERATOR),
    "no_operator_no_call": Screen(Status.NO_OPERATOR, heard=False),
    "no_operator_no_call_no_phone": Screen(Status.NO_OPERATOR, heard=False, phone=False),
    "visitor_no_answer": Screen(Status.VISITOR_NO_ANSWER),
    "visitor_busy": Screen(Status.VISITOR_BUSY, phone=False),
    "pbx_error_no_call": Screen(Status.PBX_ERROR, heard=False),
    "held": Screen(Status.HELD, held_reason=HeldReason.WIDGET_CAP),
    "held_no_call": Screen(Status.HELD, heard=False, held_reason=HeldReason.WIDGET_CAP),
    "off_hours": Screen(Status.NO_OPERATOR, held_reason=HeldReason.NO_HOURS),
    "cancelled": Screen(Status.CANCELLED),
    "closed": Screen("closed", closed=True),
}

# What a screen shows, read from the page in one go: title, words, the buttons in the order a
# keyboard meets them, the ring's icon (its ::after) and anything overlapping or cut off.
READ_SCREEN = f"""() => {{
    const root = {SHADOW};
    const dialog = root.querySelector('.cbw-dlg').getBoundingClientRect();
    const shown = (el) => !!el && el.getClientRects().length > 0;
    const view = root.querySelector('.cbw-st');
    const buttons = [...view.querySelectorAll('button, a')].filter(shown).map((b) => ({{
        tag: b.tagName.toLowerCase(), text: b.textContent, href: b.getAttribute('href'),
        secondary: b.classList.contains('cbw-sec'),
    }}));
    const ring = root.querySelector('.cbw-ind');
    const after = getComputedStyle(ring, '::after');
    const boxes = [root.querySelector('.cbw-title'), root.querySelector('.cbw-x'),
        ...view.children].filter(shown).map((el) => [el, el.getBoundingClientRect()]);
    const problems = [];
    for (const [el, r] of boxes) {{
        const name = el.className || el.tagName;
        if (r.left < dialog.left - 0.5 || r.right > dialog.right + 0.5) problems.push(name + ' sticks out');
        if (r.right > innerWidth || r.bottom > innerHeight || r.top < 0) problems.push(name + ' off screen');
        if (el.scrollWidth > el.clientWidth + 1) problems.push(name + ' text cut off');
    }}
    for (const [[a, ra], [b, rb]] of boxes.flatMap((x, i) => boxes.slice(i + 1).map((y) => [x, y]))) {{
        const apart = ra.right <= rb.left || rb.right <= ra.left || ra.bottom <= rb.top || rb.bottom <= ra.top;
        if (!apart) problems.push((a.className || a.tagName) + ' overlaps ' + (b.className || b.tagName));
    }}
    const dlg = root.querySelector('.cbw-dlg');
    if (dlg.scrollHeight > dlg.clientHeight + 1) problems.push('the dialog scrolls');
    return {{
        status: document.querySelector('callback-widget').dataset.status,
        title: root.querySelector('.cbw-title').textContent,
        message: root.querySelector('.cbw-msg').textContent,
        buttons,
        icon: {{content: after.content, width: after.width, height: after.height,
                transform: after.transform, position: after.position}},
        ring: {{animation: getComputedStyle(ring).animationName, className: ring.className}},
        problems,
    }};
}}"""
COUNTDOWN = f"() => {{ const c = {SHADOW}.querySelector('.cbw-cd'); return c.hidden ? null : c.textContent; }}"


def set_widget(stack, *, phone: bool, closed: bool) -> None:
    with stack.app.app_context():
        widget = db.session.scalars(select(Widget)).one()
        widget.visitor_phone = NUMBER if phone else None
        widget.hours = {day: [] for day in DAYS} if closed else ALWAYS_OPEN
        db.session.commit()


def end_request(stack, screen: Screen) -> None:
    """The latest request ends as the call machine would leave it (its change is published)."""
    with stack.app.app_context():
        req = db.session.scalars(
            select(CallbackRequest).order_by(CallbackRequest.id.desc())
        ).first()
        req.status = screen.status
        req.held_reason = screen.held_reason
        db.session.commit()


def submit(page, number: str) -> None:
    page.fill("#cbw-phone", number)
    page.select_option("#cbw-group", "102")
    page.check("#cbw-consent")
    page.click("callback-widget button[type=submit]")
    page.wait_for_function(STATUS_IS, arg="queued")


def render(page, stack, screen: Screen, number: str) -> dict:
    set_widget(stack, phone=screen.phone, closed=screen.closed)
    page.goto(stack.shop_url + "/")
    page.click("callback-widget .cbw-fab")
    page.wait_for_selector("callback-widget .cbw-dlg", state="visible")
    countdown = None
    if not screen.closed:
        submit(page, number)
        countdown = page.evaluate(COUNTDOWN)
        if screen.status == Status.CANCELLED:
            page.click("callback-widget .cbw-st .cbw-sec")  # the visitor's own cancel
        else:
            end_request(stack, screen)
    page.wait_for_function(STATUS_IS, arg=str(screen.status))
    # The dialog slides in (0.2 s): read where it comes to rest.
    page.wait_for_function(f"() => {SHADOW}.querySelector('.cbw-dlg').getAnimations().length === 0")
    seen = page.evaluate(READ_SCREEN)
    seen["countdown"] = countdown
    return seen


@pytest.fixture(scope="module")
def screens(browser, tmp_path_factory):
    """{(viewport, screen name): what the page showed}, every final state on both sizes."""
    # Nothing is dialled: each request waits queued until the test ends it.
    stack, stop = build_stack(tmp_path_factory.mktemp("screens"), start_consumer=False)
    SHOTS.mkdir(exist_ok=True)
    seen = {}
    numbers = (f"+7 916 100-{n // 100:02d}-{n % 100:02d}" for n in itertools.count(1))
    try:
        for (size, (width, height)), (name, screen) in itertools.product(
            VIEWPORTS.items(), SCREENS.items()
        ):
            # A context each: the browser keeps the look a minute (max-age=60), and the number
            # for visitors changes between screens.
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            errors = seen.setdefault((size, "console errors"), [])
            page.on("console", lambda m, errors=errors: m.type == "error" and errors.append(m.text))
            try:
                with pytest.MonkeyPatch.context() as patch:
                    patch.setattr(
                        "widget_server.visitor.status.someone_will_hear",
                        lambda owner, heard=screen.heard: heard,
                    )
                    seen[size, name] = render(page, stack, screen, next(numbers))
                page.screenshot(path=str(SHOTS / f"{name}-{size}.png"))
            finally:
                context.close()
        with stack.app.app_context():
            req = db.session.scalars(select(CallbackRequest)).first()
            seen["plan"] = wait_seconds(req)  # group 102: two operators, the PBX's 45 s each
    finally:
        stop()
    return seen


def both(seen, name):
    return [seen[size, name] for size in VIEWPORTS]


def buttons(shown):
    """The buttons as (words, main or second), in the order a keyboard meets them."""
    return [(b["text"], "second" if b["secondary"] else "main") for b in shown["buttons"]]


# -- part 5: a title and a sentence true for each final state, and the action that makes sense
@pytest.mark.parametrize(
    ("name", "title", "words"),
    [
        ("finished", "Спасибо за разговор", "Звонок завершён."),
        ("no_operator", "Перезвоним позже", "перезвоним вам, как только сможем"),
        ("no_operator_no_call", "Звонка не будет", "Позвоните нам или закажите звонок позже."),
        ("no_operator_no_call_no_phone", "Звонка не будет", "Пожалуйста, закажите звонок позже."),
        ("visitor_no_answer", "Не удалось дозвониться", "вы не ответили"),
        ("visitor_busy", "Не удалось дозвониться", "Ваш номер был занят"),
        ("pbx_error_no_call", "Звонка не будет", "Позвоните нам или закажите звонок позже."),
        ("held", "Перезвоним позже", "Мы перезвоним вам."),
        ("held_no_call", "Звонка не будет", "позвонить сейчас мы не сможем"),
        ("off_hours", "Сейчас мы не работаем", "перезвоним, когда начнём работать"),
        ("cancelled", "Звонок отменён", "Мы не будем звонить."),
        ("closed", "Сейчас мы не работаем", "Свободного времени для звонка пока нет."),
    ],
)
def test_each_final_screen_has_a_title_and_a_sentence_true_for_it(screens, name, title, words):
    for shown in both(screens, name):
        assert shown["title"] == title != FORM_TITLE
        assert words in shown["message"]
        assert "другим способом" not in shown["message"]  # no way the screen does not give


@pytest.mark.parametrize(
    ("name", "offered"),
    [
        ("finished", [("Закрыть", "main")]),
        # "We will call you back": close; calling us now is there too.
        ("no_operator", [("Закрыть", "main"), (LINK, "second")]),
        ("held", [("Закрыть", "main"), (LINK, "second")]),
        ("off_hours", [("Закрыть", "main"), (LINK, "second")]),
        # No call will come: the number is the way; asking again at once would meet the same.
        ("no_operator_no_call", [(LINK, "main"), ("Закрыть", "second")]),
        ("pbx_error_no_call", [(LINK, "main"), ("Закрыть", "second")]),
        ("held_no_call", [(LINK, "main"), ("Закрыть", "second")]),
        ("no_operator_no_call_no_phone", [("Закрыть", "main")]),
        ("closed", [(LINK, "main"), ("Закрыть", "second")]),
        # The visitor was not reached: asking again can work.
        ("visitor_no_answer", [("Заказать звонок ещё раз", "main"), (LINK, "second")]),
        ("visitor_busy", [("Заказать звонок ещё раз", "main")]),
        ("cancelled", [("Заказать звонок ещё раз", "main")]),
    ],
)
def test_the_main_action_is_the_one_that_makes_sense_on_each_final_screen(screens, name, offered):
    for shown in both(screens, name):
        assert buttons(shown) == offered
        links = [b for b in shown["buttons"] if b["tag"] == "a"]
        assert all(b["href"] == "tel:" + NUMBER for b in links)


# -- part 6: each final state draws its own icon, so a lost CSS rule fails here ------------------
def test_each_final_state_draws_its_own_icon_in_the_ring(screens):
    check = screens["1280x800", "finished"]["icon"]
    # The check mark: a rotated L of two borders, 10 × 20 px.
    assert (check["content"], check["width"], check["height"]) == ('""', "10px", "20px")
    assert check["position"] == "absolute" and check["transform"] != "none"
    for name, screen in SCREENS.items():
        if screen.status == Status.FINISHED:
            continue
        for shown in both(screens, name):
            dash = shown["icon"]  # the ring of an ended request holds a dash, never nothing
            assert (dash["content"], dash["width"], dash["height"]) == ('""', "22px", "4px"), name
            assert dash["position"] == "absolute"
            assert "cbw-end" in shown["ring"]["className"] and shown["ring"]["animation"] == "none"


# -- nothing overlaps or is cut off, on a phone or a desktop -----------------------------------
@pytest.mark.parametrize("size", VIEWPORTS)
def test_no_final_screen_overlaps_or_cuts_anything_off(screens, size):
    problems = {name: screens[size, name]["problems"] for name in SCREENS}
    assert {name: found for name, found in problems.items() if found} == {}
    assert screens[size, "console errors"] == []


# -- part 7: the countdown promises what the ring plan can keep --------------------------------
def test_the_countdown_counts_down_from_the_ring_plan_not_a_fixed_30_seconds(screens):
    plan = screens["plan"]
    assert plan == 2 + 2 * 45  # the queue, then two operators at the PBX's 45 s ring time
    shown = screens["1280x800", "finished"]["countdown"]
    assert shown in {f"Позвоним в течение {plan} с", f"Позвоним в течение {plan - 1} с"}


# -- part 11: a quick visitor's submit prints no red 428 in the host page's console ------------
@pytest.fixture
def token_stack(tmp_path):
    stack, stop = build_stack(tmp_path, app_overrides={"FORM_TOKENS": True})
    yield stack
    stop()


def test_a_submit_right_after_opening_prints_no_428_and_goes_through(page, token_stack):
    page.goto(token_stack.shop_url + "/")
    page.click("callback-widget .cbw-fab")
    page.wait_for_selector("#cbw-phone")
    # Well within the 3 s the server wants between the form token and the submit.
    submit(page, "+7 916 200-00-01")
    assert page.console_errors == []
    with token_stack.app.app_context():
        assert db.session.scalars(select(CallbackRequest)).one().status != Status.HELD
