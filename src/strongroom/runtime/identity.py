"""Who is calling: the principal an API Gateway IAM-authorised request was signed by, without its session.

Idempotency keys are scoped to this principal (docs/adr/0002). A credential *session* is not a
principal: an assumed role's ARN ends in a session name that differs per task, per instance and per
credential refresh, so a retry of the same request from another session must land on the same
transaction. The rule, by the shape of ``requestContext.identity.userArn``:

- ``arn:P:sts::A:assumed-role/ROLE/SESSION`` → ``arn:P:iam::A:role/ROLE`` (the role, session dropped)
- ``arn:P:iam::A:user/PATH/NAME``             → unchanged (an IAM user is its own principal)
- ``arn:P:sts::A:federated-user/NAME``        → unchanged (GetFederationToken: the name is the principal)
- ``arn:P:iam::A:root``                       → unchanged (the account root)

Anything else, a missing ARN, or an ARN whose account differs from ``accountId``, is no identity.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):(?P<service>iam|sts)::(?P<account>[0-9]{12}):(?P<resource>[\x21-\x7e]+)"
)
# IAM names are ASCII: \w must not admit other scripts' letters (re.ASCII).
_ASSUMED_ROLE = re.compile(r"assumed-role/(?P<role>[\w+=,.@-]{1,64})/[\w+=,.@-]{2,64}", re.ASCII)
_USER = re.compile(r"user(/[\x21-\x7e]*)?/[\w+=,.@-]{1,64}", re.ASCII)
_FEDERATED_USER = re.compile(r"federated-user/[\w+=,.@-]{2,32}", re.ASCII)


class NoIdentity(Exception):
    """The request carries no usable IAM identity; it must be refused, never keyed as anonymous."""


def principal(identity: Mapping[str, object] | None) -> str:
    """The caller's principal ARN, session removed; raises :class:`NoIdentity`."""
    user_arn = identity.get("userArn") if identity else None
    match = _ARN.fullmatch(user_arn) if isinstance(user_arn, str) else None
    if match is None:
        raise NoIdentity("the request has no IAM identity")
    account = identity.get("accountId") if identity else None
    if account is not None and account != match["account"]:
        raise NoIdentity("the identity's account does not match its ARN")
    partition, service, resource = match["partition"], match["service"], match["resource"]
    if service == "sts" and (role := _ASSUMED_ROLE.fullmatch(resource)):
        return f"arn:{partition}:iam::{match['account']}:role/{role['role']}"
    if (service == "iam" and (resource == "root" or _USER.fullmatch(resource))) or (
        service == "sts" and _FEDERATED_USER.fullmatch(resource)
    ):
        return match.group(0)
    raise NoIdentity("the identity is not a user, role session, federated user or root")
