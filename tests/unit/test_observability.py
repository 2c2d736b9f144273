"""PII stays out of logs; tracing is imported only when it is on."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from strongroom import constants as env
from strongroom.runtime.observability import customer_ref, tracing_enabled

KEY = b"k" * 32
IDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}", fullmatch=True)


@given(IDS)
def test_customer_ref_is_a_stable_pseudonym(customer_id: str) -> None:
    ref = customer_ref(customer_id, KEY)
    assert ref == customer_ref(customer_id, KEY)
    assert re.fullmatch(r"c_[0-9a-f]{12}", ref)  # a digest: nothing of the id itself survives


@given(st.lists(IDS, min_size=2, max_size=2, unique=True))
def test_customer_refs_differ_for_different_customers(ids: list[str]) -> None:
    assert customer_ref(ids[0], KEY) != customer_ref(ids[1], KEY)


@given(IDS)
def test_customer_ref_depends_on_the_key(customer_id: str) -> None:
    # an unkeyed digest of a guessable id could be reversed by hashing candidates
    assert customer_ref(customer_id, KEY) != customer_ref(customer_id, b"another-key-of-32-bytes-for-test")


def test_tracing_is_off_outside_lambda() -> None:
    assert not tracing_enabled({})


def test_tracing_is_on_in_lambda_unless_disabled() -> None:
    in_lambda = {"AWS_LAMBDA_FUNCTION_NAME": "strongroom-api"}
    assert tracing_enabled(in_lambda)
    for value in ("true", "TRUE", "1", "yes"):
        assert not tracing_enabled({**in_lambda, env.ENV_TRACING: value})
    assert tracing_enabled({**in_lambda, env.ENV_TRACING: "false"})
