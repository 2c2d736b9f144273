"""The problem catalogue is a public contract: stable, unique type URIs with error statuses."""

from __future__ import annotations

import json
import re

import pytest

from strongroom.runtime import problems as p

SLUG = re.compile(r"^[a-z]+(-[a-z]+)*$")


def test_slugs_are_unique() -> None:
    slugs = [t.slug for t in p.CATALOGUE]
    assert len(slugs) == len(set(slugs))


def test_every_problem_type_defined_is_in_the_catalogue() -> None:
    defined = {value for value in vars(p).values() if isinstance(value, p.ProblemType)}
    assert defined == set(p.CATALOGUE)


@pytest.mark.parametrize("problem", p.CATALOGUE, ids=lambda t: t.slug)
def test_type_uri_is_stable_looking(problem: p.ProblemType) -> None:
    assert SLUG.match(problem.slug)
    assert problem.uri == f"https://strongroom.dev/problems/{problem.slug}"


@pytest.mark.parametrize("problem", p.CATALOGUE, ids=lambda t: t.slug)
def test_status_is_a_client_or_server_error(problem: p.ProblemType) -> None:
    assert 400 <= problem.status <= 599
    assert problem.title
    assert not problem.title.endswith(".")


@pytest.mark.parametrize(
    ("problem", "status"),
    [
        (p.MALFORMED_REQUEST, 400),
        (p.IDEMPOTENCY_KEY_REQUIRED, 400),
        (p.INVALID_CURSOR, 400),
        (p.INVALID_PARAMETER, 400),
        (p.NOT_FOUND, 404),
        (p.METHOD_NOT_ALLOWED, 405),
        (p.PAYLOAD_TOO_LARGE, 413),
        (p.UNSUPPORTED_MEDIA_TYPE, 415),
        (p.VALIDATION_ERROR, 422),
        (p.IDEMPOTENCY_KEY_REUSED, 422),
        (p.INTERNAL_ERROR, 500),
        (p.SERVICE_UNAVAILABLE, 503),
    ],
)
def test_statuses_clients_rely_on(problem: p.ProblemType, status: int) -> None:
    assert problem.status == status


def test_problem_body_is_rfc9457() -> None:
    problem = p.Problem(p.PAYLOAD_TOO_LARGE, "body is 9000 bytes; the limit is 8192", limit=8192)
    assert json.loads(problem.to_json("/transactions")) == {
        "type": "https://strongroom.dev/problems/payload-too-large",
        "title": "The request body is too large",
        "status": 413,
        "detail": "body is 9000 bytes; the limit is 8192",
        "instance": "/transactions",
        "limit": 8192,
    }


def test_problem_body_carries_field_errors_only_when_there_are_some() -> None:
    errors = [{"field": "amount", "message": "must be greater than zero"}]
    assert p.Problem(p.VALIDATION_ERROR, "1 field(s) are invalid", errors=errors).body()["errors"] == errors
    assert "errors" not in p.Problem(p.NOT_FOUND, "no such transaction").body()
    assert "instance" not in p.Problem(p.NOT_FOUND, "no such transaction").body()


def test_problem_json_keeps_non_ascii_text() -> None:
    assert "é" in p.Problem(p.NOT_FOUND, "café").to_json()
