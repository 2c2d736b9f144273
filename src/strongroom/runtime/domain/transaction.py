"""The Transaction aggregate: one money movement for a customer, created exactly once per idempotency key."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache

from strongroom.runtime.domain.errors import FieldProblem, InvalidInput
from strongroom.runtime.domain.money import Money, parse_money

CUSTOMER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
REFERENCE_MAX_LENGTH = 140
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
TRANSACTION_ID_PREFIX = "txn_"
TRANSACTION_ID_PATTERN = rf"^{TRANSACTION_ID_PREFIX}[a-z2-7]{{26}}$"

_CUSTOMER_ID_RE = re.compile(CUSTOMER_ID_PATTERN)
_IDEMPOTENCY_KEY_RE = re.compile(IDEMPOTENCY_KEY_PATTERN)
_TRANSACTION_ID_RE = re.compile(TRANSACTION_ID_PATTERN)
# Text shown to people must not carry invisible or layout-changing characters: control (Cc), format
# (Cf: bidirectional overrides such as U+202E, zero-width characters), surrogate (Cs) and private-use
# (Co) code points, and line or paragraph separators (Zl, Zp). The ranges are those categories in
# Unicode 15.1 (CPython 3.13; 3.11's 15.0 is a subset), written out so the rule is the same on every
# interpreter and can be published as a schema pattern (tests/unit/test_transaction.py checks them).
_SURROGATES = (0xD800, 0xDFFF)
_HIDDEN_RANGES = (
    (0x0000, 0x001F), (0x007F, 0x009F), (0x00AD, 0x00AD), (0x0600, 0x0605), (0x061C, 0x061C),
    (0x06DD, 0x06DD), (0x070F, 0x070F), (0x0890, 0x0891), (0x08E2, 0x08E2), (0x180E, 0x180E),
    (0x200B, 0x200F), (0x2028, 0x202E), (0x2060, 0x2064), (0x2066, 0x206F), _SURROGATES, (0xE000, 0xF8FF),
    (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD), (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001), (0xE0020, 0xE007F),
    (0xF0000, 0xFFFFD), (0x100000, 0x10FFFD),
)  # fmt: skip
# Whitespace (str.isspace) that is not already hidden: a reference of only these is blank.
_SPACE_RANGES = ((0x0020, 0x0020), (0x00A0, 0x00A0), (0x1680, 0x1680), (0x2000, 0x200A), (0x202F, 0x202F),
                 (0x205F, 0x205F), (0x3000, 0x3000))  # fmt: skip


def _code_point(cp: int) -> str:
    # \uXXXX in the Basic Multilingual Plane, so no raw control character reaches a document or a
    # template; an astral code point as itself, which ECMAScript (Unicode mode), Java, Rust and Python
    # all read alike (they share no escape for it).
    return f"\\u{cp:04x}" if cp <= 0xFFFF else chr(cp)


def _char_class(ranges: tuple[tuple[int, int], ...]) -> str:
    return "".join(_code_point(a) if a == b else f"{_code_point(a)}-{_code_point(b)}" for a, b in ranges)


_HIDDEN, _SPACE = _char_class(_HIDDEN_RANGES), _char_class(_SPACE_RANGES)
# The rule as a pattern, published in the OpenAPI document and API Gateway's model: at least one
# visible character, none hidden. Surrogates are left out of it: no JSON text can carry one (a body
# that escapes one is refused as malformed before any field is read), and schema validators refuse
# them in a pattern; on every other string it decides as the rule does (tests/unit/test_transaction.py).
_PUBLISHED_HIDDEN = _char_class(tuple(r for r in _HIDDEN_RANGES if r != _SURROGATES))
REFERENCE_PATTERN = f"^[^{_PUBLISHED_HIDDEN}]*[^{_PUBLISHED_HIDDEN}{_SPACE}][^{_PUBLISHED_HIDDEN}]*$"


@cache
def _hidden_re() -> re.Pattern[str]:
    """Compiled on the first non-ASCII reference (about 1 ms): ASCII text, the usual case, is checked
    without it, so a cold start does not pay for it."""
    return re.compile(f"[{_HIDDEN}]")


def _first_hidden(text: str) -> int | None:
    """The index of the first hidden character (control, format, separator…) in ``text``, if any."""
    if text.isascii():  # hidden ASCII is exactly what is not printable: 0x00-0x1F and 0x7F
        return None if text.isprintable() else next(i for i, c in enumerate(text) if not c.isprintable())
    match = _hidden_re().search(text)
    return match.start() if match else None


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
    if len(reference) > REFERENCE_MAX_LENGTH:
        return f"must be at most {REFERENCE_MAX_LENGTH} characters, got {len(reference)}"
    if not reference.strip():  # what strip() removes is exactly the pattern's hidden and space sets
        return "must not be blank"
    hidden = _first_hidden(reference)
    if hidden is None:
        return None
    return (
        "must not contain control characters, format characters or line separators "
        f"(U+{ord(reference[hidden]):04X} at position {hidden + 1})"
    )


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
    return TRANSACTION_ID_PREFIX + base64.b32encode(digest).decode().rstrip("=").lower()


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
