"""The Transaction aggregate: one money movement for a customer, created exactly once per idempotency key."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from strongroom.runtime.domain.errors import FieldProblem, InvalidInput
from strongroom.runtime.domain.money import Money, parse_money

CUSTOMER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
REFERENCE_MAX_LENGTH = 140
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
TRANSACTION_ID_PATTERN = r"^txn_[a-z2-7]{26}$"

_CUSTOMER_ID_RE = re.compile(CUSTOMER_ID_PATTERN)
_IDEMPOTENCY_KEY_RE = re.compile(IDEMPOTENCY_KEY_PATTERN)
_TRANSACTION_ID_RE = re.compile(TRANSACTION_ID_PATTERN)
_CONTROL_CHARS_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class TransactionType(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class TransactionStatus(StrEnum):
    ACCEPTED = "accepted"
    SETTLED = "settled"
    REJECTED = "rejected"
    REVERSED = "reversed"


@dataclass(frozen=True, slots=True)
class TransactionRequest:
    """A validated request to move money: everything the client chose, nothing the platform assigns."""

    money: Money
    customer_id: str
    type: TransactionType
    reference: str

    def fingerprint(self) -> str:
        """A digest of the canonical request: equal for the same request however it was spelled."""
        canonical = json.dumps(
            [self.money.amount_text, self.money.currency, self.customer_id, self.type.value, self.reference],
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Transaction:
    id: str
    customer_id: str
    money: Money
    type: TransactionType
    reference: str
    status: TransactionStatus
    created_at: datetime
    updated_at: datetime
    request_fingerprint: str


def timestamp_text(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds and a Z, the one spelling used on the wire and in the table."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _is_valid_reference(reference: str) -> str | None:
    if not reference.strip():
        return "must not be blank"
    if len(reference) > REFERENCE_MAX_LENGTH:
        return f"must be at most {REFERENCE_MAX_LENGTH} characters, got {len(reference)}"
    if _CONTROL_CHARS_RE.search(reference):
        return "must not contain control characters"
    return None


def parse_transaction_request(
    *, amount: object, currency: object, customer_id: object, type: object, reference: object
) -> TransactionRequest:
    """Validate a request's fields and report every problem at once (:class:`InvalidInput`)."""
    problems: list[FieldProblem] = []
    money = parse_money(amount, currency)
    if isinstance(money, list):
        problems.extend(money)
    if not (isinstance(customer_id, str) and _CUSTOMER_ID_RE.fullmatch(customer_id)):
        problems.append(
            FieldProblem(
                "customerId",
                "must be 1-64 letters, digits, '_', '.', ':' or '-', starting with a letter or digit",
            )
        )
    if not (isinstance(type, str) and type in {t.value for t in TransactionType}):
        problems.append(FieldProblem("type", f"must be one of {', '.join(t.value for t in TransactionType)}"))
    reason = _is_valid_reference(reference) if isinstance(reference, str) else "must be a string"
    if reason:
        problems.append(FieldProblem("reference", reason))
    if problems:
        raise InvalidInput(problems)
    assert isinstance(money, Money)
    assert isinstance(customer_id, str)
    assert isinstance(reference, str)
    return TransactionRequest(money, customer_id, TransactionType(str(type)), reference)


def validate_idempotency_key(key: str | None) -> str:
    if key is None:
        raise InvalidInput([FieldProblem("Idempotency-Key", "header is required for POST /transactions")])
    if not _IDEMPOTENCY_KEY_RE.fullmatch(key):
        raise InvalidInput(
            [
                FieldProblem(
                    "Idempotency-Key", "must be 1-255 visible ASCII characters (a UUID is a good choice)"
                )
            ]
        )
    return key


def is_transaction_id(value: str) -> bool:
    return _TRANSACTION_ID_RE.fullmatch(value) is not None


def transaction_id_for(caller: str, idempotency_key: str) -> str:
    """The id a (caller, idempotency key) pair creates: deterministic, so the key *is* the primary key.

    Keys are scoped to the caller, so two clients that happen to pick the same key never collide.
    """
    digest = hashlib.sha256(f"{caller}\x00{idempotency_key}".encode()).digest()[:16]
    return "txn_" + base64.b32encode(digest).decode().rstrip("=").lower()


def new_transaction(request: TransactionRequest, *, transaction_id: str, now: datetime) -> Transaction:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    created = now.astimezone(UTC)
    return Transaction(
        id=transaction_id,
        customer_id=request.customer_id,
        money=request.money,
        type=request.type,
        reference=request.reference,
        status=TransactionStatus.ACCEPTED,
        created_at=created,
        updated_at=created,
        request_fingerprint=request.fingerprint(),
    )
