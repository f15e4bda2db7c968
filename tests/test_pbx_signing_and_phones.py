"""Request signing (the guide's worked example) and visitor phone numbers."""

from __future__ import annotations

import hashlib
import logging
import re

import pytest

from widget_server.ops.logs import configure_logging, mask_text
from widget_server.pbx.signing import encode_body, sign, signed_headers, verify
from widget_server.phones import (
    MAX_INPUT_LENGTH,
    PhoneError,
    digits_of,
    mask_phone,
    normalize_phone,
    number_key,
    region_of,
)

# Rostelecom integration guide §1.3.2 (../shared/pbx-rostelecom.md §1.3).
GUIDE_CLIENT_ID = "000003C405E6525C64C184258C44EC99"
GUIDE_SIGN_KEY = "00000716ABDA6D4DFF10F82BCBBFC532"
GUIDE_BODY = b'{"request_number": "+74951234567","from_sipuri": "test_user@cloudpbx.rt.ru"}'
GUIDE_SIGNATURE = "fc95a524342dc68df90f7488e6d821c5a8a3b667d585490b50ebf939f1202c36"

E164_RU = re.compile(r"^\+7[3489]\d{9}$")


# -- signing -------------------------------------------------------------------
def test_it_reproduces_the_guides_worked_signing_example():
    assert sign(GUIDE_CLIENT_ID, GUIDE_BODY, GUIDE_SIGN_KEY) == GUIDE_SIGNATURE


def test_the_guides_signature_verifies_over_the_exact_bytes():
    assert verify(GUIDE_CLIENT_ID, GUIDE_BODY, GUIDE_SIGN_KEY, GUIDE_SIGNATURE)


def test_the_same_json_written_without_spaces_has_another_signature():
    compact = GUIDE_BODY.replace(b": ", b":")
    assert sign(GUIDE_CLIENT_ID, compact, GUIDE_SIGN_KEY) != GUIDE_SIGNATURE
    assert not verify(GUIDE_CLIENT_ID, compact, GUIDE_SIGN_KEY, GUIDE_SIGNATURE)


def test_an_upper_case_hex_signature_is_accepted():
    assert verify(GUIDE_CLIENT_ID, GUIDE_BODY, GUIDE_SIGN_KEY, GUIDE_SIGNATURE.upper())


@pytest.mark.parametrize(
    ("client_id", "sign_key", "signature"),
    [
        (GUIDE_CLIENT_ID, GUIDE_SIGN_KEY, ""),
        (GUIDE_CLIENT_ID, GUIDE_SIGN_KEY, None),
        (GUIDE_CLIENT_ID, "", GUIDE_SIGNATURE),
        ("", GUIDE_SIGN_KEY, GUIDE_SIGNATURE),
    ],
    ids=["empty signature", "no signature", "blank key", "blank client id"],
)
def test_it_refuses_blank_keys_and_signatures(client_id, sign_key, signature):
    assert verify(client_id, GUIDE_BODY, sign_key, signature) is False


def test_it_refuses_a_signature_of_an_empty_key_even_when_it_matches():
    # sha256(id + body + "") is computable by anyone who knows the id: never trust it.
    keyless = hashlib.sha256(GUIDE_CLIENT_ID.encode() + GUIDE_BODY).hexdigest()
    assert verify(GUIDE_CLIENT_ID, GUIDE_BODY, "", keyless) is False


def test_it_refuses_a_signature_made_with_another_key_or_client_id():
    assert not verify(GUIDE_CLIENT_ID, GUIDE_BODY, GUIDE_SIGN_KEY + "0", GUIDE_SIGNATURE)
    assert not verify(GUIDE_CLIENT_ID[:-1] + "A", GUIDE_BODY, GUIDE_SIGN_KEY, GUIDE_SIGNATURE)


@pytest.mark.parametrize("signature", ["é" * 64, "fc95a524342dc68dé", "\u0444" * 64, "\x00"])
def test_a_non_ascii_signature_is_refused_not_an_error(signature):
    assert verify(GUIDE_CLIENT_ID, GUIDE_BODY, GUIDE_SIGN_KEY, signature) is False


def test_flipping_any_single_byte_of_the_body_fails_verification():
    body = encode_body({"session_id": "s-1", "state": "end", "is_record": "true"})
    signature = sign(GUIDE_CLIENT_ID, body, GUIDE_SIGN_KEY)
    assert verify(GUIDE_CLIENT_ID, body, GUIDE_SIGN_KEY, signature)
    for position in range(len(body)):
        for flip in (0x01, 0x80):
            tampered = bytearray(body)
            tampered[position] ^= flip
            assert not verify(GUIDE_CLIENT_ID, bytes(tampered), GUIDE_SIGN_KEY, signature), (
                position,
                flip,
            )


def test_flipping_any_hex_digit_of_the_signature_fails_verification():
    for position in range(len(GUIDE_SIGNATURE)):
        digit = GUIDE_SIGNATURE[position]
        other = "0" if digit != "0" else "1"
        forged = GUIDE_SIGNATURE[:position] + other + GUIDE_SIGNATURE[position + 1 :]
        assert not verify(GUIDE_CLIENT_ID, GUIDE_BODY, GUIDE_SIGN_KEY, forged), position


def test_a_truncated_or_extended_signature_fails_verification():
    assert not verify(GUIDE_CLIENT_ID, GUIDE_BODY, GUIDE_SIGN_KEY, GUIDE_SIGNATURE[:-1])
    assert not verify(GUIDE_CLIENT_ID, GUIDE_BODY, GUIDE_SIGN_KEY, GUIDE_SIGNATURE + "0")


def test_the_encoded_body_is_utf8_json_and_the_headers_sign_those_bytes():
    body = encode_body({"domain": "пример.рф", "request_number": "+79161234567"})
    assert body == '{"domain":"пример.рф","request_number":"+79161234567"}'.encode()
    headers = signed_headers(GUIDE_CLIENT_ID, body, GUIDE_SIGN_KEY)
    assert headers["X-Client-ID"] == GUIDE_CLIENT_ID
    expected = hashlib.sha256(GUIDE_CLIENT_ID.encode() + body + GUIDE_SIGN_KEY.encode())
    assert headers["X-Client-Sign"] == expected.hexdigest()
    assert headers["Content-Type"].startswith("application/json")


# -- parsing and the allow-list ------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+7 916 123-45-67", "+79161234567"),
        ("+79161234567", "+79161234567"),
        ("8 916 123 45 67", "+79161234567"),
        ("89161234567", "+79161234567"),
        ("8(916)123-45-67", "+79161234567"),
        ("9161234567", "+79161234567"),
        ("916.123.45.67", "+79161234567"),
        ("  +7 (916) 123-45-67  ", "+79161234567"),
        ("(343) 123-45-67", "+73431234567"),
        ("8 (343) 222-33-44", "+73432223344"),
        ("+7 495 123-45-67", "+74951234567"),
        ("8 812 123 45 67", "+78121234567"),
    ],
)
def test_it_accepts_russian_mobile_and_landline_numbers_in_common_forms(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("8-800-555-35-35", "not_allowed"),  # toll-free
        ("+7 800 555 35 35", "not_allowed"),
        ("8 809 123 45 67", "not_allowed"),  # premium rate
        ("+7 701 700 00 00", "not_allowed"),  # Kazakhstan mobile shares +7
        ("+7 727 250 00 00", "not_allowed"),  # Almaty landline
        ("+7 940 123-45-67", "not_allowed"),  # Abkhazia mobile, billed as international
        ("8 940 123 45 67", "not_allowed"),
        ("+7 840 226-00-00", "not_allowed"),  # Abkhazia landline
        ("+44 20 7946 0958", "not_allowed"),
        ("+1 212 555 0100", "not_allowed"),
        ("112", "invalid"),
        ("12345", "invalid"),
        ("916123456", "invalid"),
        ("+7 916 123 45 6", "invalid"),
        ("1" * 20, "invalid"),
        ("+7" + "9" * 18, "invalid"),
        ("+７９１６１２３４５６７", "invalid"),  # full-width digits
        ("٩١٦١٢٣٤٥٦٧", "invalid"),  # Arabic-Indic digits
        ("+7 ९१६ १२३ ४५ ६७", "invalid"),  # Devanagari digits
        ("abc", "invalid"),
        ("+7 916 CALL-ME", "invalid"),
        ("+7 916 123-45-67; DROP", "invalid"),
        ("+7" + " " * (MAX_INPUT_LENGTH - 10) + "9161234567", "invalid"),  # too long
        (79161234567, "invalid"),
        (["+79161234567"], "invalid"),
        (None, "required"),
        ("", "required"),
        ("   ", "required"),
    ],
)
def test_it_refuses_numbers_it_must_not_call(raw, code):
    with pytest.raises(PhoneError) as caught:
        normalize_phone(raw)
    assert caught.value.code == code


def test_abkhazian_numbers_are_called_only_where_the_owner_allowed_ab_like_another_country():
    assert normalize_phone("+7 940 123-45-67", {"AB": 5}) == "+79401234567"
    assert region_of("+79401234567") == region_of("+78402260000") == "AB"
    with pytest.raises(PhoneError):
        normalize_phone("+7 940 123-45-67", {"KZ": 5})


@pytest.mark.parametrize("raw", ["+7 949 123-45-67", "+7 959 123-45-67", "+7 990 123-45-67"])
def test_the_949_959_and_990_mobile_ranges_are_called_as_russian_numbers(raw):
    assert region_of(normalize_phone(raw)) == "RU"


def test_the_refusal_of_an_input_of_exactly_the_maximum_length_is_only_about_content():
    padded = "+7 916 123-45-67".ljust(MAX_INPUT_LENGTH)
    assert len(padded) == MAX_INPUT_LENGTH
    assert normalize_phone(padded) == "+79161234567"
    with pytest.raises(PhoneError):
        normalize_phone(padded + " ")


@pytest.mark.parametrize(
    "raw",
    ["+7 916 123-45-67", "8 (343) 222-33-44", "9161234567", "+7 495 123 45 67", "8 812 123 45 67"],
)
def test_normalisation_is_idempotent_and_gives_a_russian_e164_number(raw):
    once = normalize_phone(raw)
    assert normalize_phone(once) == once
    assert E164_RU.match(once)


# -- masking and PBX number fields -------------------------------------------------
@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+79161234567", "+7********67"),
        ("+7 (916) 123-45-67", "+7********67"),
        ("79161234567", "+7********67"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_phone_keeps_only_the_country_code_and_the_last_two_digits(number, masked):
    assert mask_phone(number) == masked


def test_mask_phone_never_shows_more_than_two_of_the_subscriber_digits():
    masked = mask_phone("+79161234567")
    assert "1234" not in masked and "916" not in masked
    assert masked.endswith("67") and masked.count("*") == 8


@pytest.mark.parametrize(
    "text",
    [
        "call_back to +79161234567 failed",
        "PBX said: number 79161234567 busy",
        "visitor 89161234567 asked",
        "plain 9161234567 here",
        "sip:79161234567@demo.cloudpbx.rt.ru",
    ],
)
def test_the_log_mask_leaves_only_the_last_two_digits_of_a_number(text):
    masked = mask_text(text)
    assert "123456" not in masked and "91612" not in masked
    digits_left = re.findall(r"\d+", masked.split("@")[0])
    assert digits_left[-1] == "67"
    assert "*" in masked


def test_the_log_mask_leaves_timestamps_ids_and_short_numbers_alone():
    text = "session 2024-05-01 12:00:00.123, operator pin 201, request 42, took 1500 ms"
    assert mask_text(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("call +7 916 123-45-67 now", "call +7 *** ***-**-67 now"),
        ("8 (916) 123-45-67", "8 (***) ***-**-67"),
        ("8-916-123-45-67", "8-***-***-**-67"),
        ("visitor 916 123 45 67", "visitor 9** *** ** 67"),
    ],
)
def test_the_log_mask_covers_numbers_written_with_spaces_dashes_and_brackets(text, masked):
    assert mask_text(text) == masked


def test_the_log_mask_leaves_dates_with_a_count_after_them_alone():
    text = "day off 2026-12-31 10 requests, 2026-12-31 2027-01-01"
    assert mask_text(text) == text


def text_log_line(logger_name: str, *args, exc: BaseException | None = None) -> str:
    """What the text format writes for one record (the root handler, to a string)."""
    configure_logging("INFO")
    [handler] = [h for h in logging.getLogger().handlers if getattr(h, "_widget_server", False)]
    logger = logging.getLogger(logger_name)
    record = logger.makeRecord(
        logger_name,
        logging.ERROR,
        __file__,
        1,
        args[0],
        args[1:],
        (type(exc), exc, exc.__traceback__) if exc else None,
    )
    return handler.formatter.format(record)


def test_a_traceback_in_the_text_log_is_masked_too():
    try:
        raise ValueError("PBX refused +79161234567 and 8 (916) 123-45-67")
    except ValueError as exc:
        line = text_log_line("widget_server.test", "call for %s failed", "x", exc=exc)
    assert "Traceback" in line and "ValueError" in line
    assert "9161234567" not in line and "123-45-67" not in line


def test_a_logged_value_with_cr_lf_cannot_start_a_fake_line_in_the_text_log():
    fake = "ok\r\n2026-12-01 08:00:00,000 INFO widget_server.admin: owner signed in"
    line = text_log_line("widget_server.test", "webhook said %s", fake)
    assert len(line.splitlines()) == 1
    assert "ok\\r\\n2026-12-01" in line


def test_traceback_lines_are_indented_so_an_exception_message_cannot_pass_for_a_record():
    try:
        raise ValueError("bad\n2026-12-01 08:00:00,000 INFO widget_server: fake")
    except ValueError as exc:
        line = text_log_line("widget_server.test", "failed", exc=exc)
    first, *rest = line.splitlines()
    assert first.endswith("ERROR widget_server.test: failed")
    assert rest and all(part.startswith("    ") for part in rest)


def test_a_number_passed_as_a_log_argument_is_masked_in_the_record(caplog):
    configure_logging("INFO")
    with caplog.at_level(logging.INFO, logger="widget_server.test"):
        logging.getLogger("widget_server.test").info("calling %s via %s", "+79161234567", "201")
    [record] = caplog.records
    assert record.getMessage() == "calling +7********67 via 201"
    assert "9161234567" not in caplog.text


@pytest.mark.parametrize(
    ("value", "digits"),
    [
        ("sip:+79161234567@demo.cloudpbx.rt.ru", "79161234567"),
        ("sip:79161234567@demo.cloudpbx.rt.ru", "79161234567"),
        ("89161234567", "79161234567"),
        ("+7 (916) 123-45-67", "79161234567"),
        ("79161234567", "79161234567"),
        ("user@host", ""),
        ("anna@demo.cloudpbx.rt.ru", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_digits_of_reads_a_pbx_number_field_as_7_and_ten_digits(value, digits):
    assert digits_of(value) == digits


def test_number_keys_are_keyed_hashes_that_never_hold_the_number():
    key = number_key("+79161234567", "secret-one")
    assert "9161234567" not in key
    assert key == number_key("+79161234567", "secret-one")
    assert key != number_key("+79161234567", "secret-two")
    assert key != number_key("+79161234568", "secret-one")
