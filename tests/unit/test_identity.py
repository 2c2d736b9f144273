"""The principal an idempotency key is scoped to: the caller without its credential session."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom.runtime.identity import NoIdentity, principal

ACCOUNT = "123456789012"


def identity(user_arn: str | None, account: str | None = ACCOUNT) -> dict[str, object]:
    return {"userArn": user_arn, "accountId": account, "caller": "AROAEXAMPLE:s", "accessKey": "ASIAEXAMPLE"}


@pytest.mark.parametrize(
    ("user_arn", "expected"),
    [
        (f"arn:aws:sts::{ACCOUNT}:assumed-role/payments/task-1", f"arn:aws:iam::{ACCOUNT}:role/payments"),
        (f"arn:aws:sts::{ACCOUNT}:assumed-role/payments/i-0abc", f"arn:aws:iam::{ACCOUNT}:role/payments"),
        (
            f"arn:aws-us-gov:sts::{ACCOUNT}:assumed-role/payments/botocore-session-17",
            f"arn:aws-us-gov:iam::{ACCOUNT}:role/payments",
        ),
        (f"arn:aws:iam::{ACCOUNT}:user/alice", f"arn:aws:iam::{ACCOUNT}:user/alice"),
        (f"arn:aws:iam::{ACCOUNT}:user/ops/alice", f"arn:aws:iam::{ACCOUNT}:user/ops/alice"),
        (f"arn:aws:sts::{ACCOUNT}:federated-user/bob", f"arn:aws:sts::{ACCOUNT}:federated-user/bob"),
        (f"arn:aws:iam::{ACCOUNT}:root", f"arn:aws:iam::{ACCOUNT}:root"),
    ],
)
def test_principal_is_the_caller_without_its_session(user_arn: str, expected: str) -> None:
    assert principal(identity(user_arn)) == expected


@given(
    role=st.from_regex(r"[A-Za-z0-9+=,.@_-]{1,64}", fullmatch=True),
    sessions=st.lists(st.from_regex(r"[A-Za-z0-9+=,.@_-]{2,64}", fullmatch=True), min_size=2, max_size=4),
)
def test_every_session_of_a_role_is_one_principal(role: str, sessions: list[str]) -> None:
    arns = {principal(identity(f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{s}")) for s in sessions}
    assert arns == {f"arn:aws:iam::{ACCOUNT}:role/{role}"}


def test_two_roles_are_two_principals() -> None:
    a = principal(identity(f"arn:aws:sts::{ACCOUNT}:assumed-role/payments/s1"))
    b = principal(identity(f"arn:aws:sts::{ACCOUNT}:assumed-role/refunds/s1"))
    assert a != b


def test_the_same_role_name_in_two_accounts_is_two_principals() -> None:
    other = "210987654321"
    a = principal(identity(f"arn:aws:sts::{ACCOUNT}:assumed-role/payments/s1"))
    b = principal(identity(f"arn:aws:sts::{other}:assumed-role/payments/s1", other))
    assert a != b


@pytest.mark.parametrize(
    "bad",
    [
        None,
        {},
        identity(None),
        identity(""),
        identity("anonymous"),
        identity(f"arn:aws:sts::{ACCOUNT}:assumed-role/payments"),  # no session: not what STS issues
        identity(f"arn:aws:iam::{ACCOUNT}:role/payments"),  # a role ARN is never a caller
        identity(f"arn:aws:s3:::{ACCOUNT}-bucket"),
        identity(f"arn:aws:iam::{ACCOUNT}:user/al\u0456ce"),  # a Cyrillic i (U+0456) is not an IAM name
        identity(f"arn:aws:iam::{ACCOUNT}:user/alice", account="999999999999"),  # account mismatch
        {"userArn": 42, "accountId": ACCOUNT},
    ],
)
def test_no_usable_identity_is_refused_never_anonymous(bad: dict[str, object] | None) -> None:
    with pytest.raises(NoIdentity):
        principal(bad)
