"""Every policy in every synthesized template: no wildcard actions, no open security groups, and an
interface endpoint for every AWS service a function in the VPC calls."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from strongroom.infra.constructs._props import flatten_reference
from strongroom.infra.constructs.network import GATEWAY_SERVICES

# Services whose IAM actions a VPC function holds but calls from outside its ENIs: Lambda's control
# plane manages the ENIs (ec2:*NetworkInterface*) and delivers the function's logs (logs:*).
CALLED_BY_LAMBDA_ITSELF = {"ec2", "logs"}
# IAM service prefix → the endpoint service name, where they differ.
ENDPOINT_SERVICE = {"kinesis": "kinesis-streams", "execute-api": "execute-api"}


def _policy_documents(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every policy document anywhere in a template (IAM, key, bucket, topic, queue, endpoint…)."""
    if isinstance(node, dict):
        if "Statement" in node and isinstance(node["Statement"], list):
            yield path, node
        for key, value in node.items():
            yield from _policy_documents(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _policy_documents(value, f"{path}/{index}")


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _is_account_root(principal: Any) -> bool:
    return isinstance(principal, dict) and flatten_reference(principal.get("AWS")).endswith(
        ":iam::<AWS::AccountId>:root"
    )


def wildcard_allows(template: dict[str, Any]) -> list[str]:
    found = []
    for path, document in _policy_documents(template.get("Resources", {})):
        for statement in document["Statement"]:
            if statement.get("Effect") != "Allow":
                continue  # a Deny with a wildcard (e.g. refuse non-TLS) narrows, it does not grant
            actions = _listed(statement.get("Action", []))
            wild = [a for a in actions if "*" in a]
            if not wild:
                continue
            if "/KeyPolicy" in path and actions == ["kms:*"] and _is_account_root(statement.get("Principal")):
                continue  # the key's administrator: the one kms:* the design allows
            found.append(f"{path}: {wild}")
    return found


def open_security_group_rules(template: dict[str, Any]) -> list[str]:
    found = []
    for logical_id, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties", {})
        rules: list[dict[str, Any]] = []
        if resource["Type"] == "AWS::EC2::SecurityGroup":
            rules = properties.get("SecurityGroupIngress", []) + properties.get("SecurityGroupEgress", [])
        elif resource["Type"] in {"AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"}:
            rules = [properties]
        for rule in rules:
            if rule.get("CidrIp") == "0.0.0.0/0" or rule.get("CidrIpv6") == "::/0":
                found.append(f"{logical_id}: {rule}")
    return found


def missing_endpoints(template: dict[str, Any]) -> dict[str, set[str]]:
    """Service → actions, for every service a VPC function may call that has no endpoint in the VPC."""
    resources = template.get("Resources", {})
    vpc_roles = {
        flatten_reference(r["Properties"]["Role"]).strip("<>").split(".")[0]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Function" and "VpcConfig" in r["Properties"]
    }
    called: dict[str, set[str]] = {}
    for resource in resources.values():
        properties = resource.get("Properties", {})
        attached: list[Any] = []
        if resource["Type"] in {"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"}:
            attached = [flatten_reference(r).strip("<>") for r in properties.get("Roles", [])]
            documents = [properties["PolicyDocument"]]
        else:
            continue
        if not vpc_roles & set(attached):
            continue
        for document in documents:
            for statement in document["Statement"]:
                if statement.get("Effect") == "Allow":
                    for action in _listed(statement["Action"]):
                        service = action.split(":", 1)[0]
                        called.setdefault(service, set()).add(action)
    endpoints = set()
    for resource in resources.values():
        if resource["Type"] == "AWS::EC2::VPCEndpoint":
            endpoints.add(flatten_reference(resource["Properties"]["ServiceName"]).rsplit(".", 1)[-1])
    return {
        service: actions
        for service, actions in called.items()
        if service not in CALLED_BY_LAMBDA_ITSELF and ENDPOINT_SERVICE.get(service, service) not in endpoints
    }


@pytest.fixture(scope="module")
def templates(synthesized: Any) -> dict[str, dict[str, Any]]:
    return {s.name: synthesized.template(s.name) for s in synthesized.stacks}


def test_no_policy_allows_a_wildcard_action(templates: dict[str, dict[str, Any]]) -> None:
    for name, template in templates.items():
        assert wildcard_allows(template) == [], name


def test_no_security_group_rule_is_open_to_the_internet(templates: dict[str, dict[str, Any]]) -> None:
    for name, template in templates.items():
        assert open_security_group_rules(template) == [], name


def test_every_service_a_vpc_function_calls_has_an_endpoint(templates: dict[str, dict[str, Any]]) -> None:
    for name, template in templates.items():
        assert missing_endpoints(template) == {}, name
    # The derivation saw the API function's calls, through interface and gateway endpoints alike.
    platform = templates["strongroom-eu-west-1"]
    services = {
        flatten_reference(r["Properties"]["ServiceName"]).rsplit(".", 1)[-1]
        for r in platform["Resources"].values()
        if r["Type"] == "AWS::EC2::VPCEndpoint"
    }
    assert services == {"kms", "secretsmanager", "xray", *GATEWAY_SERVICES}


# The checks above must be able to fail: each is shown a template with the fault it looks for.

ROLE = {"Type": "AWS::IAM::Role", "Properties": {}}
FUNCTION = {
    "Type": "AWS::Lambda::Function",
    "Properties": {"Role": {"Fn::GetAtt": ["Role", "Arn"]}, "VpcConfig": {"SubnetIds": []}},
}


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::ManagedPolicy",
        "Properties": {"Roles": [{"Ref": "Role"}], "PolicyDocument": {"Statement": list(statements)}},
    }


def test_a_wildcard_action_is_found_even_in_a_bucket_policy() -> None:
    template = {
        "Resources": {
            "Policy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "PolicyDocument": {
                        "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "x"}]
                    }
                },
            }
        }
    }
    assert wildcard_allows(template) == ["/Policy/Properties/PolicyDocument: ['s3:Get*']"]


def test_kms_star_is_allowed_for_the_account_root_only() -> None:
    root = {
        "AWS": {
            "Fn::Join": [
                "",
                ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "AWS::AccountId"}, ":root"],
            ]
        }
    }
    key = {
        "Type": "AWS::KMS::Key",
        "Properties": {
            "KeyPolicy": {
                "Statement": [
                    {"Effect": "Allow", "Principal": root, "Action": "kms:*", "Resource": "*"},
                    {"Effect": "Allow", "Principal": {"Service": "logs.amazonaws.com"}, "Action": "kms:*"},
                ]
            }
        },
    }
    assert wildcard_allows({"Resources": {"Key": key}}) == ["/Key/Properties/KeyPolicy: ['kms:*']"]


def test_an_open_security_group_rule_is_found() -> None:
    template = {
        "Resources": {
            "Group": {
                "Type": "AWS::EC2::SecurityGroup",
                "Properties": {"SecurityGroupEgress": [{"CidrIp": "0.0.0.0/0", "IpProtocol": "-1"}]},
            },
            "Ingress": {"Type": "AWS::EC2::SecurityGroupIngress", "Properties": {"CidrIpv6": "::/0"}},
        }
    }
    assert len(open_security_group_rules(template)) == 2


def test_a_missing_endpoint_is_found() -> None:
    template = {
        "Resources": {
            "Role": ROLE,
            "Function": FUNCTION,
            "Policy": _policy(
                {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": "q"},
                {"Effect": "Allow", "Action": ["kms:Decrypt", "ec2:CreateNetworkInterface"], "Resource": "k"},
            ),
            "Kms": {
                "Type": "AWS::EC2::VPCEndpoint",
                "Properties": {
                    "ServiceName": {"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".kms"]]}
                },
            },
        }
    }
    assert missing_endpoints(template) == {"sqs": {"sqs:SendMessage"}}
