"""Domain errors: what went wrong, in words a caller can act on. No HTTP, no AWS."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One invalid input: the field (in the API's spelling) and why."""

    field: str
    message: str


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""


class InvalidInput(DomainError):
    """One or more fields are invalid; every problem is reported at once."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))


class IdempotencyKeyReused(DomainError):
    """The idempotency key already created a transaction from a different request."""

    def __init__(self, transaction_id: str) -> None:
        self.transaction_id = transaction_id
        super().__init__(
            f"idempotency key already used for a different request (transaction {transaction_id})"
        )


class TransactionNotFound(DomainError):
    def __init__(self, transaction_id: str) -> None:
        self.transaction_id = transaction_id
        super().__init__(f"transaction {transaction_id} does not exist")


class InvalidCursor(DomainError):
    """A pagination cursor that was not issued for this listing, or was altered."""
