"""Property tests (threat model F2, F3): phone normalisation and the webhook signature.

Hypothesis generates the inputs; example counts stay modest so the file runs in seconds.
"""

from __future__ import annotations

import re

import phonenumbers
from hypothesis import HealthCheck, assume, find, given, settings
from hypothesis import strategies as st

from widget_server.pbx.signing import sign, verify
from widget_server.phones import PhoneError, normalize_phone

PROPERTY = settings(
    max_examples=200,
    deadline=None,
    database=None,
    # Most random text is refused; the idempotence property only looks at what is accepted.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
E164_RU = re.compile(r"^\+7\d{10}\Z")
CALLABLE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}
# Digits of other scripts that look like (and int() reads as) 0-9.
FOREIGN_DIGITS = "٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹०१२३४५६७८९０１２３４５６７８９𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗"


def _try_normalize(raw: object) -> str | None:
    """The normalised number, or None when refused; anything but PhoneError propagates."""
    try:
        return normalize_phone(raw)
    except PhoneError as exc:
        assert exc.code in {"required", "invalid", "not_allowed"}
        return None


def _assert_callable_russian(number: str) -> None:
    assert E164_RU.match(number), number
    parsed = phonenumbers.parse(number, None)
    assert phonenumbers.is_valid_number(parsed)
    assert phonenumbers.region_code_for_number(parsed) == "RU"
    assert phonenumbers.number_type(parsed) in CALLABLE_TYPES


# What a visitor might type: a prefix, ten digits in groups, assorted separators.
separators = st.sampled_from(["", " ", "-", ".", "  ", "\t", "\u00a0", "\u2009", "\u3000"])


AREAS = ["495", "499", "812", "343", "383", "846", "861", "473", "351", "800", "809", "700"]


@st.composite
def typed_numbers(draw, russian_shape: bool = True) -> str:
    """A number as a visitor types it; ``russian_shape``: prefix + 3-digit area + 7 digits."""
    if russian_shape:
        prefix = draw(st.sampled_from(["+7", "8", "7", ""]))
        area = draw(st.one_of(st.sampled_from(AREAS), st.from_regex(r"9[0-9]{2}", fullmatch=True)))
        rest = draw(st.text(alphabet="0123456789", min_size=7, max_size=7))
    else:
        prefix = draw(st.sampled_from(["+7", "8", "7", "", "+8", "+", "+44", "+77", "+375"]))
        area = draw(st.text(alphabet="0123456789", min_size=1, max_size=4))
        rest = draw(st.text(alphabet="0123456789", min_size=0, max_size=10))
    bracket = draw(st.booleans())
    parts = [prefix, f"({area})" if bracket else area, rest[:3], rest[3:5], rest[5:]]
    return "".join(part + draw(separators) for part in parts if part)


phone_like_text = st.one_of(
    st.text(),  # arbitrary Unicode, including other scripts' digits and spaces
    st.text(alphabet="0123456789+()-. \u00a0٣۴५８", max_size=40),
    typed_numbers(),
    typed_numbers(russian_shape=False),
)
any_value = st.one_of(
    phone_like_text,
    st.none(),
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.lists(st.text(max_size=12), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
    st.binary(max_size=20),
)


# -- F2: phone normalisation -----------------------------------------------------------
@PROPERTY
@given(any_value)
def test_normalising_any_value_either_succeeds_or_raises_phone_error_and_nothing_else(raw):
    result = _try_normalize(raw)
    assert result is None or isinstance(result, str)


@PROPERTY
@given(phone_like_text)
def test_every_accepted_number_is_a_callable_russian_number_in_e164(raw):
    result = _try_normalize(raw)
    if result is not None:
        _assert_callable_russian(result)


@PROPERTY
@given(st.one_of(typed_numbers(), phone_like_text))
def test_normalising_is_idempotent(raw):
    result = _try_normalize(raw)
    assume(result is not None)
    assert normalize_phone(result) == result
    assert normalize_phone(normalize_phone(result)) == result


@PROPERTY
@given(typed_numbers())
def test_a_number_written_with_any_separators_gives_the_same_result_as_its_bare_digits(raw):
    result = _try_normalize(raw)
    assume(result is not None)
    bare = ("+" if raw.strip().startswith("+") else "") + re.sub(r"\D", "", raw)
    assert normalize_phone(bare) == result


@PROPERTY
@given(typed_numbers(), st.data())
def test_a_number_with_any_digit_written_in_another_script_is_refused(raw, data):
    assume(_try_normalize(raw) is not None)
    positions = [i for i, ch in enumerate(raw) if ch in "0123456789"]
    i = data.draw(st.sampled_from(positions), label="position")
    foreign = data.draw(
        st.sampled_from([ch for ch in FOREIGN_DIGITS if int(ch) == int(raw[i])]), label="digit"
    )
    tampered = raw[:i] + foreign + raw[i + 1 :]
    assert _try_normalize(tampered) is None


def test_the_number_generator_reaches_both_accepted_and_refused_numbers():
    # Guards the properties above against vacuity: both outcomes are generated.
    accepted = find(typed_numbers(), lambda raw: _try_normalize(raw) is not None, settings=PROPERTY)
    refused = find(typed_numbers(), lambda raw: _try_normalize(raw) is None, settings=PROPERTY)
    _assert_callable_russian(normalize_phone(accepted))
    assert _try_normalize(refused) is None


# -- F3: the webhook signature ---------------------------------------------------------
ids_and_keys = st.text(min_size=1, max_size=40)
bodies = st.binary(max_size=512)


@PROPERTY
@given(ids_and_keys, bodies, ids_and_keys)
def test_a_body_signed_with_the_key_verifies(client_id, body, sign_key):
    signature = sign(client_id, body, sign_key)
    assert re.fullmatch(r"[0-9a-f]{64}", signature)
    assert verify(client_id, body, sign_key, signature) is True
    assert verify(client_id, body, sign_key, f" {signature.upper()}\t") is True


@PROPERTY
@given(ids_and_keys, bodies.filter(bool), ids_and_keys, st.data())
def test_changing_any_single_byte_of_the_body_fails_verification(client_id, body, key, data):
    signature = sign(client_id, body, key)
    index = data.draw(st.integers(0, len(body) - 1), label="index")
    new_byte = data.draw(st.integers(0, 255).filter(lambda b: b != body[index]), label="byte")
    tampered = body[:index] + bytes([new_byte]) + body[index + 1 :]
    assert verify(client_id, tampered, key, signature) is False


@PROPERTY
@given(ids_and_keys, bodies, ids_and_keys, st.binary(min_size=1, max_size=8), st.data())
def test_adding_or_removing_bytes_of_the_body_fails_verification(client_id, body, key, extra, data):
    signature = sign(client_id, body, key)
    at = data.draw(st.integers(0, len(body)), label="at")
    assert verify(client_id, body[:at] + extra + body[at:], key, signature) is False
    if at < len(body):
        assert verify(client_id, body[:at] + body[at + 1 :], key, signature) is False


@PROPERTY
@given(ids_and_keys, bodies, ids_and_keys, st.data())
def test_changing_any_single_character_of_the_signature_fails_verification(
    client_id, body, key, data
):
    signature = sign(client_id, body, key)
    index = data.draw(st.integers(0, len(signature) - 1), label="index")
    char = data.draw(
        st.characters(codec="utf-8").filter(lambda c: c.lower() != signature[index]),
        label="char",
    )
    tampered = signature[:index] + char + signature[index + 1 :]
    assume(tampered.strip().lower() != signature)  # e.g. a trailing space is not a change
    assert verify(client_id, body, key, tampered) is False


@PROPERTY
@given(ids_and_keys, bodies, ids_and_keys, st.text(max_size=80))
def test_any_other_signature_text_fails_verification(client_id, body, key, other):
    signature = sign(client_id, body, key)
    assume(other.strip().lower() != signature)
    assert verify(client_id, body, key, other) is False


@PROPERTY
@given(ids_and_keys, bodies, ids_and_keys, ids_and_keys, ids_and_keys)
def test_a_signature_made_with_another_key_or_client_id_fails_verification(
    client_id, body, key, other_id, other_key
):
    assume(other_key != key and other_id != client_id)
    assert verify(client_id, body, key, sign(client_id, body, other_key)) is False
    assert verify(client_id, body, key, sign(other_id, body, key)) is False


@PROPERTY
@given(bodies, ids_and_keys, ids_and_keys)
def test_a_blank_client_id_or_key_never_verifies_even_with_the_matching_signature(
    body, client_id, key
):
    assert verify("", body, key, sign("", body, key)) is False
    assert verify(client_id, body, "", sign(client_id, body, "")) is False
    assert verify(client_id, body, key, "") is False
    assert verify(client_id, body, key, None) is False
