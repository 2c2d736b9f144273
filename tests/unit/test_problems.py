"""The problem catalogue is a public contract: stable, unique type URIs with error statuses."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from strongroom import constants as env
from strongroom.runtime import problems as p

SLUG = re.compile(r"^[a-z]+(-[a-z]+)*$")
DOCS_BASE = "https://docs.example.com/problems#"


@pytest.fixture(autouse=True)
def unset_base(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts from no override and no environment variable, and leaves none behind."""
    monkeypatch.delenv(env.ENV_PROBLEM_TYPE_BASE, raising=False)
    p.set_problem_type_base(None)
    yield
    p.set_problem_type_base(None)


def test_slugs_are_unique() -> None:
    slugs = [t.slug for t in p.CATALOGUE]
    assert len(slugs) == len(set(slugs))


def test_every_problem_type_defined_is_in_the_catalogue() -> None:
    defined = {value for value in vars(p).values() if isinstance(value, p.ProblemType)}
    assert defined == set(p.CATALOGUE)


@pytest.mark.parametrize("problem", p.CATALOGUE, ids=lambda t: t.slug)
def test_type_uri_is_stable_looking(problem: p.ProblemType) -> None:
    assert SLUG.match(problem.slug)
    assert problem.uri == f"urn:strongroom:problem:{problem.slug}"


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
        "type": "urn:strongroom:problem:payload-too-large",
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


# --- the base: nobody else can answer for it; an operator may point it at their own docs ----------


def test_default_base_is_a_name_nothing_dereferences() -> None:
    # An http(s) base on a domain the project does not hold lets whoever registers it serve every
    # client that follows a `type` (docs/adr/0017-problem-type-uris-that-cannot-be-hijacked.md).
    assert p.DEFAULT_PROBLEM_TYPE_BASE == "urn:strongroom:problem:"
    assert p.problem_type_base() == p.DEFAULT_PROBLEM_TYPE_BASE
    assert not any(t.uri.startswith(("http:", "https:")) for t in p.CATALOGUE)


def test_environment_sets_the_base_at_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN only the environment variable (the local gateway and the function make no set-up call)
    monkeypatch.setenv(env.ENV_PROBLEM_TYPE_BASE, DOCS_BASE)
    # WHEN a problem is rendered THEN its type is the configured base + slug
    assert json.loads(p.Problem(p.NOT_FOUND, "no such transaction").to_json())["type"] == (
        "https://docs.example.com/problems#not-found"
    )


def test_explicit_base_beats_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env.ENV_PROBLEM_TYPE_BASE, DOCS_BASE)
    p.set_problem_type_base("tag:example.com,2026:problems:")
    assert p.NOT_FOUND.uri == "tag:example.com,2026:problems:not-found"
    p.set_problem_type_base(None)
    assert p.NOT_FOUND.uri == DOCS_BASE + "not-found"


def test_invalid_base_in_the_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env.ENV_PROBLEM_TYPE_BASE, "http://strongroom.dev/problems/")
    with pytest.raises(ValueError, match=env.ENV_PROBLEM_TYPE_BASE):
        p.problem_type_base()


def test_uri_under_an_explicit_base_ignores_the_process_base() -> None:
    p.set_problem_type_base(DOCS_BASE)
    assert p.FORBIDDEN.uri_under("urn:example:p:") == "urn:example:p:forbidden"


@pytest.mark.parametrize(
    "base",
    [
        "urn:strongroom:problem:",
        "https://docs.example.com/problems#",
        "https://docs.example.com/problems/",
        "https://docs.example.com:8443/api/problems/",
        "tag:example.com,2026:problems:",
        "tag:example.com,2026-11-23:strongroom/problems/",
        "tag:api-team@example.com,2026:problems:",
        " https://docs.example.com/problems# ",  # surrounding space from a shell is forgiven
    ],
)
def test_valid_bases_are_accepted(base: str) -> None:
    assert p.checked_problem_type_base(base) == base.strip()


@pytest.mark.parametrize(
    ("base", "fragment"),
    [
        ("", "not a URI"),
        ("http://docs.example.com/problems/", "https:, tag: or urn:"),
        ("HTTPS://docs.example.com/problems/", "lowercase"),
        ("/problems/", "https:, tag: or urn:"),
        ("ftp://docs.example.com/problems/", "https:, tag: or urn:"),
        ("https:/problems/", "well-formed https:"),
        ("https://docs.example.com", "well-formed https:"),
        ("https://docs.example.com/problems", "must end in"),
        ("https://docs.example.com/p#x/", "'#' only as its last"),
        ("https://docs.example.com/$base/", "not a URI"),
        ('https://docs.example.com/"/', "not a URI"),
        ("https://docs.example.com/a b/", "not a URI"),
        ("tag:strongroom:problems:", "well-formed tag:"),  # no authority and date
        ("tag:example.com:problems:", "well-formed tag:"),
        ("urn:x:", "well-formed urn:"),  # a namespace id has 2-32 characters
        ("urn:strongroom:problem", "must end in"),
    ],
)
def test_invalid_bases_say_what_is_wrong_and_show_a_valid_one(base: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=re.escape(fragment)) as caught:
        p.checked_problem_type_base(base)
    assert p.PROBLEM_TYPE_BASE_EXAMPLE in str(caught.value)


def test_an_invalid_override_is_refused_and_the_base_is_unchanged() -> None:
    with pytest.raises(ValueError, match="https:, tag: or urn:"):
        p.set_problem_type_base("http://docs.example.com/problems/")
    assert p.problem_type_base() == p.DEFAULT_PROBLEM_TYPE_BASE
