"""The pure domain: Money, Transaction, validation and errors. Knows nothing of AWS or HTTP."""

from __future__ import annotations

from strongroom.runtime.domain.errors import (
    DomainError,
    FieldProblem,
    IdempotencyKeyReused,
    InvalidCursor,
    InvalidInput,
    TransactionNotFound,
)
from strongroom.runtime.domain.money import Money, parse_money
from strongroom.runtime.domain.transaction import (
    Transaction,
    TransactionRequest,
    TransactionStatus,
    TransactionType,
    new_transaction,
    parse_transaction_request,
    transaction_id_for,
    validate_idempotency_key,
)

__all__ = [
    "DomainError",
    "FieldProblem",
    "IdempotencyKeyReused",
    "InvalidCursor",
    "InvalidInput",
    "Money",
    "Transaction",
    "TransactionNotFound",
    "TransactionRequest",
    "TransactionStatus",
    "TransactionType",
    "new_transaction",
    "parse_money",
    "parse_transaction_request",
    "transaction_id_for",
    "validate_idempotency_key",
]
