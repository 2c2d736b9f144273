"""The emulator's fix to moto's item size check: linear in an item's attributes, and the same verdict
as moto's own check for every item, at the limit and around it."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models import dynamo_type

from strongroom.local import moto_fixes
from tests.functional.conftest import aws_client

ORIGINAL_INIT = dynamo_type.Item.__init__


@pytest.fixture
def fixed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dynamo_type.Item, "__init__", ORIGINAL_INIT)  # restored after the test
    moto_fixes.apply()


def verdict(init: Any, attrs: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    item = object.__new__(dynamo_type.Item)
    try:
        init(item, dynamo_type.DynamoType({"S": "pk"}), None, attrs)
    except ItemSizeTooLarge:
        return "too large", None
    return "ok", {name: value.to_json() for name, value in item.attrs.items()}


values = st.one_of(
    st.builds(lambda n: {"S": "x" * n}, st.integers(0, 150_000)),
    st.builds(lambda n: {"N": str(n)}, st.integers(0, 10**30)),
    st.builds(lambda b: {"BOOL": b}, st.booleans()),
    st.builds(lambda n: {"L": [{"S": "y" * n}] * 3}, st.integers(0, 60_000)),
    st.builds(lambda n: {"M": {"k": {"S": "z" * n}}}, st.integers(0, 150_000)),
)


@given(attrs=st.dictionaries(st.text(min_size=1, max_size=8), values, min_size=1, max_size=6))
def test_the_fixed_check_agrees_with_moto_on_every_item(attrs: dict[str, Any]) -> None:
    def linear(item: Any, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
        saved = dynamo_type.Item.__init__
        try:
            dynamo_type.Item.__init__ = ORIGINAL_INIT  # type: ignore[method-assign]
            moto_fixes.apply()
            dynamo_type.Item.__init__(item, hash_key, range_key, attrs)
        finally:
            dynamo_type.Item.__init__ = saved  # type: ignore[method-assign]

    assert verdict(linear, attrs) == verdict(ORIGINAL_INIT, attrs)


@pytest.mark.parametrize("padding", [-1, 0, 1])
def test_items_at_the_limit_pass_and_one_byte_more_fails_as_with_moto(fixed: None, padding: int) -> None:
    name = "blob"
    size = moto_fixes.ITEM_SIZE_LIMIT - len(name) + padding
    attrs = {name: {"S": "x" * size}}
    assert verdict(dynamo_type.Item.__init__, attrs)[0] == verdict(ORIGINAL_INIT, attrs)[0]
    assert verdict(dynamo_type.Item.__init__, attrs)[0] == ("too large" if padding > 0 else "ok")


def test_apply_is_idempotent(fixed: None) -> None:
    patched = dynamo_type.Item.__init__
    moto_fixes.apply()
    assert dynamo_type.Item.__init__ is patched


def test_through_the_api_an_oversized_item_is_refused_and_a_normal_one_round_trips(
    fixed: None, provisioned: Any
) -> None:
    dynamodb = aws_client("dynamodb")
    table = provisioned.transactions_table
    item = {"pk": {"S": "t-1"}, "amount": {"N": "12.5"}, "tags": {"L": [{"S": "a"}, {"BOOL": True}]}}
    dynamodb.put_item(TableName=table, Item=item)
    assert dynamodb.get_item(TableName=table, Key={"pk": {"S": "t-1"}}, ConsistentRead=True)["Item"] == item
    with pytest.raises(ClientError) as refused:
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "t-2"}, "blob": {"S": "x" * 410_000}})
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "Item size has exceeded" in refused.value.response["Error"]["Message"]
