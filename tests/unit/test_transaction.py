"""The Transaction aggregate: request validation, deterministic ids, fingerprints, idempotency keys."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom.runtime.domain import (
    InvalidInput,
    TransactionRequest,
    TransactionStatus,
    TransactionType,
    new_transaction,
    parse_transaction_request,
    transaction_id_for,
    validate_idempotency_key,
)
from strongroom.runtime.domain.transaction import (
    REFERENCE_MAX_LENGTH,
    TRANSACTION_ID_PATTERN,
    is_transaction_id,
    timestamp_text,
)

VALID: dict[str, Any] = {
    "amount": "12.34",
    "currency": "EUR",
    "customer_id": "cust-0042",
    "type": "debit",
    "reference": "rent",
}
ID_RE = re.compile(r"^txn_[a-z2-7]{26}$")
KEYS = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=255)
CALLERS = st.text(min_size=1, max_size=80)


def request(**overrides: Any) -> TransactionRequest:
    return parse_transaction_request(**{**VALID, **overrides})


def problems(**overrides: Any) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        request(**overrides)
    return {p.field: p.message for p in caught.value.problems}


# --- parse_transaction_request ---------------------------------------------------------------------


def test_valid_request_is_parsed() -> None:
    parsed = request()
    assert parsed.money.amount_text == "12.34"
    assert parsed.money.currency == "EUR"
    assert parsed.customer_id == "cust-0042"
    assert parsed.type is TransactionType.DEBIT
    assert parsed.reference == "rent"


def test_every_problem_is_reported_at_once_in_api_spelling() -> None:
    # GIVEN a request where every field is wrong
    found = problems(amount=12.34, currency="euro", customer_id="", type="refund", reference=" ")
    # THEN each field is named as the API spells it (customerId, not customer_id)
    assert set(found) == {"amount", "currency", "customerId", "type", "reference"}
    assert "debit" in found["type"]
    assert "credit" in found["type"]


def test_invalid_input_message_lists_each_problem() -> None:
    with pytest.raises(InvalidInput) as caught:
        request(customer_id="", reference="")
    assert str(caught.value).startswith("customerId: ")
    assert "reference: must not be blank" in str(caught.value)


@pytest.mark.parametrize(
    "customer_id", ["", "-starts-with-hyphen", "has space", "x" * 65, "émile", "a/b", "cust\n", None, 42]
)
def test_invalid_customer_ids(customer_id: object) -> None:
    assert set(problems(customer_id=customer_id)) == {"customerId"}


@pytest.mark.parametrize("customer_id", ["a", "cust-0042", "A.b_c:d-9", "x" * 64, "0"])
def test_valid_customer_ids(customer_id: str) -> None:
    assert request(customer_id=customer_id).customer_id == customer_id


@pytest.mark.parametrize("kind", ["DEBIT", "refund", "", None, 1, ["debit"], {"debit": 1}])
def test_invalid_types_are_field_problems(kind: object) -> None:
    # Whatever the caller sends, the answer is a field problem, never a crash.
    assert set(problems(type=kind)) == {"type"}


@pytest.mark.parametrize("kind", ["debit", "credit"])
def test_valid_types(kind: str) -> None:
    assert request(type=kind).type.value == kind


@pytest.mark.parametrize(
    ("reference", "reason"),
    [
        ("", "blank"),
        ("   ", "blank"),
        ("\t\n", "blank"),
        ("x" * (REFERENCE_MAX_LENGTH + 1), "at most 140"),
        ("line\nbreak", "control characters"),
        ("nul\x00", "control characters"),
        ("del\x7f", "control characters"),
        ("c1\x85control", "control characters"),
        (None, "string"),
        (140, "string"),
    ],
)
def test_reference_rules(reference: object, reason: str) -> None:
    found = problems(reference=reference)
    assert set(found) == {"reference"}
    assert reason in found["reference"]


@pytest.mark.parametrize("reference", ["x", "x" * REFERENCE_MAX_LENGTH, "Miete für Oktober €", "  padded  "])
def test_valid_references_are_kept_verbatim(reference: str) -> None:
    assert request(reference=reference).reference == reference


# --- transaction ids -------------------------------------------------------------------------------


@given(caller=CALLERS, key=KEYS)
def test_transaction_id_is_deterministic_and_well_formed(caller: str, key: str) -> None:
    txn_id = transaction_id_for(caller, key)
    assert txn_id == transaction_id_for(caller, key)
    assert ID_RE.match(txn_id)
    assert is_transaction_id(txn_id)


@given(caller=CALLERS, keys=st.lists(KEYS, min_size=2, max_size=2, unique=True))
def test_different_keys_give_different_ids(caller: str, keys: list[str]) -> None:
    assert transaction_id_for(caller, keys[0]) != transaction_id_for(caller, keys[1])


@given(callers=st.lists(CALLERS, min_size=2, max_size=2, unique=True), key=KEYS)
def test_keys_are_scoped_to_the_caller(callers: list[str], key: str) -> None:
    assert transaction_id_for(callers[0], key) != transaction_id_for(callers[1], key)


def test_transaction_id_is_stable_across_releases() -> None:
    # The id is the primary key of stored items: a changed derivation would turn every retry of an
    # in-flight request into a second transaction.
    assert (
        transaction_id_for("arn:aws:iam::000000000000:user/alice", "key-1")
        == "txn_q5f5vjpfcbir2bitgbnxtajodi"
    )


@pytest.mark.parametrize(
    "value",
    [
        "txn_",
        "txn_" + "a" * 25,
        "txn_" + "a" * 27,
        "TXN_" + "a" * 26,
        "txn_" + "1" * 26,
        "txn_" + "a" * 26 + "\n",
    ],
)
def test_malformed_transaction_ids_are_recognised(value: str) -> None:
    assert not is_transaction_id(value)


def test_transaction_id_pattern_is_the_documented_one() -> None:
    assert ID_RE.pattern == TRANSACTION_ID_PATTERN


# --- fingerprints ----------------------------------------------------------------------------------


def test_fingerprint_is_the_same_however_the_amount_was_spelled() -> None:
    assert request(amount="12.3").fingerprint() == request(amount="12.30").fingerprint()


@pytest.mark.parametrize(
    "change",
    [
        {"amount": "12.35"},
        {"currency": "USD"},
        {"customer_id": "cust-0043"},
        {"type": "credit"},
        {"reference": "rent "},
    ],
)
def test_fingerprint_changes_with_any_field(change: dict[str, str]) -> None:
    assert request(**change).fingerprint() != request().fingerprint()


def test_fingerprint_cannot_be_forged_by_moving_text_between_fields() -> None:
    assert (
        request(customer_id="a", reference="b:c").fingerprint()
        != request(customer_id="a:b", reference="c").fingerprint()
    )


# --- idempotency keys ------------------------------------------------------------------------------


@given(KEYS)
def test_visible_ascii_keys_up_to_255_are_valid(key: str) -> None:
    assert validate_idempotency_key(key) == key


@pytest.mark.parametrize(
    "key", ["", " ", "has space", "x" * 256, "tab\tkey", "ключ", "key\n", "\x00", "key\x7f"]
)
def test_invalid_idempotency_keys(key: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_idempotency_key(key)
    assert [p.field for p in caught.value.problems] == ["Idempotency-Key"]
    assert "visible ASCII" in caught.value.problems[0].message


def test_missing_idempotency_key_says_it_is_required() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_idempotency_key(None)
    assert "required" in caught.value.problems[0].message


# --- new_transaction -------------------------------------------------------------------------------


def test_new_transaction_is_accepted_and_stamped_in_utc() -> None:
    now = datetime(2026, 11, 23, 14, 0, 0, 1000, tzinfo=timezone(timedelta(hours=2)))
    txn = new_transaction(request(), transaction_id="txn_x", now=now)
    assert txn.status is TransactionStatus.ACCEPTED
    assert txn.created_at == txn.updated_at == now
    assert txn.created_at.tzinfo == UTC
    assert timestamp_text(txn.created_at) == "2026-11-23T12:00:00.001Z"
    assert txn.request_fingerprint == request().fingerprint()
    assert (txn.id, txn.customer_id, txn.money, txn.type, txn.reference) == (
        "txn_x",
        "cust-0042",
        request().money,
        TransactionType.DEBIT,
        "rent",
    )


def test_new_transaction_refuses_a_naive_clock() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        new_transaction(request(), transaction_id="txn_x", now=datetime(2026, 11, 23))


def test_hidden_character_ranges_cover_every_control_format_and_separator_character() -> None:
    # The ranges are written out (same rule on every interpreter, publishable as a schema pattern);
    # this interpreter's Unicode database must not know a hidden character they miss.
    import unicodedata  # noqa: PLC0415

    from strongroom.runtime.domain.transaction import _HIDDEN_RANGES, _SPACE_RANGES  # noqa: PLC0415

    def covered(ranges: tuple[tuple[int, int], ...], cp: int) -> bool:
        return any(a <= cp <= b for a, b in ranges)

    hidden = {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"}
    missed = [
        f"U+{cp:04X}"
        for cp in range(0x110000)
        if unicodedata.category(chr(cp)) in hidden and not covered(_HIDDEN_RANGES, cp)
    ]
    assert missed == []
    spaces = [cp for cp in range(0x110000) if chr(cp).isspace() and not covered(_HIDDEN_RANGES, cp)]
    assert all(covered(_SPACE_RANGES, cp) for cp in spaces)
    assert all(chr(cp).isspace() for a, b in _SPACE_RANGES for cp in range(a, b + 1))


@pytest.mark.parametrize("reference", ["Café ☕", "Miete 11/2026", "家賃", "rent 🎉", "a b", "x" * 140])
def test_visible_text_in_any_script_is_a_valid_reference(reference: str) -> None:
    assert request(reference=reference).reference == reference


def test_the_reference_pattern_holds_no_raw_control_characters() -> None:
    # Templates and documents carry it: YAML parsers (cfn-lint) refuse raw control characters.
    from strongroom.runtime.domain.transaction import REFERENCE_PATTERN  # noqa: PLC0415

    assert all((c.isascii() and c.isprintable()) or ord(c) > 0xFFFF for c in REFERENCE_PATTERN)


@given(
    st.text(
        st.one_of(
            # no surrogates: JSON cannot carry one (the API refuses such a body as malformed), and the
            # published pattern leaves them out
            st.characters(exclude_categories=["Cs"]),
            st.sampled_from([" ", "\u00a0", "\u3000", "\u202e", "\u200b", "\u2028", "\x7f", "\U000e0041"]),
        ),
        max_size=20,
    )
)
def test_the_published_pattern_and_the_rule_agree(reference: str) -> None:
    from strongroom.runtime.domain.transaction import REFERENCE_PATTERN, _is_valid_reference  # noqa: PLC0415

    assert (re.fullmatch(REFERENCE_PATTERN, reference) is not None) is (
        _is_valid_reference(reference) is None
    )
