"""What the client returns and raises: transactions with Decimal amounts, what each attempt did, and
errors that carry the API's RFC 9457 problem or every Region's last failure."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from strongroom.client.policy import Outcome

TransactionType = Literal["debit", "credit"]


@dataclass(frozen=True, slots=True)
class Transaction:
    """A transaction as the API returns it. ``amount`` is exact: a Decimal with the currency's
    decimals ("12.30" stays 12.30), never a float."""

    id: str
    customer_id: str
    amount: Decimal
    currency: str
    type: str
    reference: str
    status: str
    created_at: str  # ISO 8601 UTC with milliseconds, as the API writes it
    updated_at: str

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Transaction:
        amount = document["amount"]
        if not isinstance(amount, str):
            raise ValueError("amount is not a decimal string")
        return cls(
            id=str(document["id"]),
            customer_id=str(document["customerId"]),
            amount=Decimal(amount),
            currency=str(document["currency"]),
            type=str(document["type"]),
            reference=str(document["reference"]),
            status=str(document["status"]),
            created_at=str(document["createdAt"]),
            updated_at=str(document["updatedAt"]),
        )


@dataclass(frozen=True, slots=True)
class Attempt:
    """One request to one Region. ``started`` is seconds from the start of the call, ``elapsed`` the
    attempt's own duration (both on the client's clock); ``detail`` says what failed, briefly."""

    region: str
    outcome: Outcome
    status: int | None
    started: float
    elapsed: float
    detail: str = ""

    def describe(self) -> str:
        status = f"{self.status} " if self.status is not None else ""
        return f"{status}{self.detail or self.outcome.value}"


@dataclass(frozen=True, slots=True)
class CreateResult:
    """A created (or replayed) transaction. Keep ``idempotency_key`` with the business operation: a
    later retry with it can never create a second transaction."""

    transaction: Transaction
    replayed: bool  # the key had already created this transaction: nothing new was created
    region: str  # the Region that answered
    idempotency_key: str
    attempts: tuple[Attempt, ...]


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a customer's transactions, newest first. ``next_cursor`` (None on the last page)
    is valid in every Region."""

    items: tuple[Transaction, ...]
    next_cursor: str | None
    region: str
    attempts: tuple[Attempt, ...]


@dataclass(frozen=True, slots=True)
class CallRecord:
    """What one client call did, given to the ``on_call`` observer whether it succeeded or not."""

    operation: str  # the API's operationId, e.g. createTransaction
    attempts: tuple[Attempt, ...]
    region: str | None  # the Region that gave the final answer; None when none did
    error: Exception | None = None
    idempotency_key: str | None = None


class StrongroomClientError(Exception):
    """Base of what the client raises for a call that did not succeed."""


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str


_SLUG = re.compile(r"[^/#:]+\Z")


class ApiProblem(StrongroomClientError):
    """A final answer: a 4xx other than 429, which the other Region would give too, so it is never
    retried. Carries the RFC 9457 problem: ``type`` (a URI), its ``slug`` (e.g.
    ``idempotency-key-reused``, stable whatever the URI's base), ``status``, ``title``, ``detail``,
    and field ``errors`` for a validation error."""

    def __init__(
        self,
        *,
        status: int,
        type: str,
        title: str,
        detail: str,
        errors: tuple[FieldError, ...] = (),
        instance: str | None = None,
        region: str,
        attempts: tuple[Attempt, ...] = (),
        document: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {type}: {detail}")
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.errors = errors
        self.instance = instance
        self.region = region
        self.attempts = attempts
        self.document: Mapping[str, Any] = document or {}

    @property
    def slug(self) -> str:
        """The problem's stable name: the type URI after its base (docs/problems.md lists them)."""
        found = _SLUG.search(self.type)
        return found.group() if found else self.type

    @classmethod
    def from_response(
        cls, status: int, body: bytes, *, region: str, attempts: tuple[Attempt, ...] = ()
    ) -> ApiProblem:
        """From a problem+json body; a body that is not one still gives a problem with the status."""
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            text = body[:200].decode("utf-8", "replace").strip()
            return cls(
                status=status,
                type="about:blank",
                title="",
                detail=text or f"HTTP {status} without a problem document",
                region=region,
                attempts=attempts,
            )
        errors = tuple(
            FieldError(str(e.get("field", "")), str(e.get("message", "")))
            for e in document.get("errors") or ()
            if isinstance(e, dict)
        )
        instance = document.get("instance")
        return cls(
            status=status,
            type=str(document.get("type") or "about:blank"),
            title=str(document.get("title") or ""),
            detail=str(document.get("detail") or ""),
            errors=errors,
            instance=instance if isinstance(instance, str) else None,
            region=region,
            attempts=attempts,
            document=document,
        )


class AllRegionsUnavailable(StrongroomClientError):
    """No Region gave an answer within the call's deadline. ``last_failures`` holds each Region's last
    failure (an attempt's, or why the Region was skipped); ``attempts`` every attempt in order. Retry
    later with the same ``idempotency_key`` (for a create): that can never create a second transaction."""

    def __init__(
        self,
        *,
        last_failures: Mapping[str, str],
        attempts: tuple[Attempt, ...],
        deadline: float,
        idempotency_key: str | None = None,
    ) -> None:
        failures = "; ".join(f"{region}: {failure}" for region, failure in last_failures.items())
        advice = (
            f"retry later with the same Idempotency-Key {idempotency_key!r}"
            if idempotency_key
            else "retry later"
        )
        super().__init__(f"no Region answered within {deadline:g} s ({failures}); {advice}")
        self.last_failures = dict(last_failures)
        self.attempts = attempts
        self.deadline = deadline
        self.idempotency_key = idempotency_key
