"""Every policy in every synthesized template: no wildcard actions, no wildcard resources beyond the
allow-list (policies/resource-wildcards.json), endpoint policies held to our principals and resources,
no open security groups, and an endpoint for every AWS service a function in the VPC calls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Acknowledgment, App, Environment, Stack, Validations
from aws_cdk import aws_iam as iam

from strongroom.infra import wildcards
from strongroom.infra.compliance import ResourceWildcardGate
from strongroom.infra.constructs._props import flatten_reference

from .conftest import REPO

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
    # S3 is a gateway endpoint created by its first caller (the pipelines, the API's GET /files); Lambda
    # and CodeDeploy carry the release hooks' smoke invocations and reports (docs/adr/0039).
    assert services == {
        "kms",
        "secretsmanager",
        "xray",
        "dynamodb",
        "s3",
        "sqs",
        "kinesis-streams",
        "lambda",
        "codedeploy",
    }


def _vpc_function_actions(template: dict[str, Any]) -> set[str]:
    resources = template["Resources"]
    roles = {
        flatten_reference(r["Properties"]["Role"]).strip("<>").split(".")[0]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Function" and "VpcConfig" in r["Properties"]
    }
    return {
        action
        for r in resources.values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        and roles & {flatten_reference(x).strip("<>") for x in r["Properties"].get("Roles", [])}
        for statement in r["Properties"]["PolicyDocument"]["Statement"]
        for action in _listed(statement["Action"])
    }


def test_endpoints_carry_only_what_the_functions_call_for_our_principals_on_our_resources(
    templates: dict[str, dict[str, Any]],
) -> None:
    for name, template in templates.items():
        endpoints = [r for r in template["Resources"].values() if r["Type"] == "AWS::EC2::VPCEndpoint"]
        carried: set[str] = set()
        for endpoint in endpoints:
            # No endpoint keeps AWS's default policy (every action, every resource, any principal).
            for statement in endpoint["Properties"]["PolicyDocument"]["Statement"]:
                assert statement["Principal"] == {"AWS": "*"}, name
                equals = statement["Condition"]["StringEquals"]
                assert equals["aws:PrincipalAccount"] == {"Ref": "AWS::AccountId"}, name
                if statement["Resource"] != "*":
                    assert equals["aws:ResourceAccount"] == {"Ref": "AWS::AccountId"}, name
                carried.update(_listed(statement["Action"]))
        assert carried <= _vpc_function_actions(template), name
        assert bool(endpoints) == name.startswith("strongroom-eu-"), name


def test_no_policy_names_a_wildcard_resource_beyond_the_allow_list(
    templates: dict[str, dict[str, Any]],
) -> None:
    allowed = wildcards.load_allow_list()
    for name, template in templates.items():
        assert [str(f) for f in wildcards.findings(template, allowed, name)] == [], name


def test_every_allow_list_entry_is_still_needed_and_cites_an_adr(
    templates: dict[str, dict[str, Any]],
) -> None:
    allowed = wildcards.load_allow_list()
    assert wildcards.entries_in_use(list(templates.values()), allowed) == set(range(len(allowed)))
    for entry in allowed:
        assert (REPO / entry.adr).is_file(), entry.adr


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


# The resource-wildcard gate, shown each kind of wildcard it must find and each it must let through.

ALLOWED = [
    wildcards.AllowedWildcard(
        frozenset({"xray:PutTraceSegments"}), "*", (), "X-Ray takes no resource", "docs/adr/0016-x.md"
    ),
    wildcards.AllowedWildcard(
        frozenset({"ec2:DeleteNetworkInterface"}),
        "network-interface/*",
        ("ec2:Subnet",),
        "interface ids are unknown beforehand",
        "docs/adr/0016-x.md",
    ),
]
BASIC_EXECUTION = "service-role/AWSLambdaBasicExecutionRole"
ENI = {"Fn::Join": ["", ["arn:aws:ec2:eu-west-1:", {"Ref": "AWS::AccountId"}, ":network-interface/*"]]}


def _identity(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Resources": {"Policy": _policy(*statements)}}


@pytest.mark.parametrize(
    ("resource", "form"),
    [
        ("*", "*"),
        ({"Fn::Join": ["", ["arn:aws:ec2:eu-west-1:", {"Ref": "AWS::AccountId"}, ":*/*"]]}, "*/*"),
        ("arn:aws:logs:eu-west-1:111111111111:log-group:*", "log-group:*"),
        ("arn:aws:dynamodb:eu-west-1:111111111111:table/*", "table/*"),
        ("arn:aws:s3:::*", "*"),
        ("arn:aws:kms:*:111111111111:key/abc", "arn:aws:kms:*:111111111111:key/abc"),
    ],
)
def test_a_wildcard_resource_is_found(resource: Any, form: str) -> None:
    template = _identity({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": resource})
    (finding,) = wildcards.findings(template, ALLOWED, "t.json")
    assert finding.logical_id == "Policy"
    assert f"on {form!r} is not in policies/resource-wildcards.json" in finding.detail


@pytest.mark.parametrize(
    "resource",
    [
        "arn:aws:logs:eu-west-1:111111111111:log-group:/aws/lambda/x:*",
        "arn:aws:dynamodb:eu-west-1:111111111111:table/t/index/*",
        "arn:aws:s3:::bucket/*",
        {"Fn::Join": ["", [{"Fn::GetAtt": ["Bucket", "Arn"]}, "/*"]]},
        "arn:aws:secretsmanager:eu-west-1:111111111111:secret:name-??????",
    ],
)
def test_a_wildcard_inside_a_named_path_is_not_a_wildcard_resource(resource: Any) -> None:
    template = _identity({"Effect": "Allow", "Action": "s3:GetObject", "Resource": resource})
    assert wildcards.findings(template, ALLOWED) == []


def test_an_allowed_statement_passes_only_with_its_actions_and_conditions() -> None:
    subnet = {"ArnEquals": {"ec2:Subnet": ["arn:aws:ec2:eu-west-1:1:subnet/s"]}}
    allowed = _identity(
        {"Effect": "Allow", "Action": "xray:PutTraceSegments", "Resource": "*"},
        {"Effect": "Allow", "Action": "ec2:DeleteNetworkInterface", "Resource": ENI, "Condition": subnet},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"},  # a Deny grants nothing
    )
    assert wildcards.findings(allowed, ALLOWED) == []
    refused = _identity(
        {"Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:GetTraceSummaries"], "Resource": "*"},
        {"Effect": "Allow", "Action": "ec2:DeleteNetworkInterface", "Resource": ENI},  # no condition
        {"Effect": "Allow", "Action": "ec2:DeleteNetworkInterface", "Resource": "*", "Condition": subnet},
    )
    assert len(wildcards.findings(refused, ALLOWED)) == 3


def test_grants_no_template_shows_are_found_in_roles_and_endpoints() -> None:
    template = {
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "ManagedPolicyArns": [
                        {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::aws:policy/{BASIC_EXECUTION}"}
                    ],
                    "Policies": [
                        {
                            "PolicyName": "Inline",
                            "PolicyDocument": {
                                "Statement": [
                                    {"Effect": "Allow", "Action": "sqs:SendMessage", "NotResource": "q"}
                                ]
                            },
                        }
                    ],
                },
            },
            "Endpoint": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {"VpcEndpointType": "Interface"}},
        }
    }
    details = sorted(f.detail for f in wildcards.findings(template, ALLOWED))
    assert len(details) == 3
    assert details[0].startswith("allows NotResource")
    assert details[1].startswith("attaches the AWS managed policy")
    assert details[2].startswith("has no policy: AWS's default allows every action")


def test_the_allow_list_refuses_an_entry_without_reason_or_a_non_wildcard(tmp_path: Path) -> None:
    path = tmp_path / "resource-wildcards.json"
    entry = {"actions": ["s3:*"], "resource": "bucket-name", "conditions": [], "reason": "", "adr": ""}
    path.write_text(json.dumps({"allowed": [entry]}))
    with pytest.raises(ValueError, match="entry 0") as error:
        wildcards.load_allow_list(path)
    assert "named service:Action" in str(error.value)
    assert "is not a wildcard" in str(error.value)
    assert "needs a reason and an ADR" in str(error.value)


def test_synthesis_fails_listing_every_offending_statement() -> None:
    # GIVEN a role with two wildcard resources the allow-list does not cover, and the gate on the app
    app = App()
    stack = Stack(app, "Wild", env=Environment(region="eu-west-1"))
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(sid="ReadAnyTable", actions=["dynamodb:GetItem"], resources=["*"]))
    role.add_to_policy(
        iam.PolicyStatement(
            sid="AnyQueue", actions=["sqs:SendMessage"], resources=["arn:aws:sqs:eu-west-1:1:*"]
        )
    )
    gate = ResourceWildcardGate()
    Validations.of(app).add_plugins(gate)
    # WHEN the app is synthesized THEN it fails, and the error names each statement
    with pytest.raises(RuntimeError) as error:
        app.synth()
    message = str(error.value)
    assert "ReadAnyTable" in message
    assert "AnyQueue" in message
    assert len(gate.findings) == 2


def test_an_acknowledgement_does_not_silence_the_gate() -> None:
    # GIVEN a wildcard the allow-list does not cover, and the gate's rule acknowledged on the stack
    app = App()
    stack = Stack(app, "Wild", env=Environment(region="eu-west-1"))
    role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    role.add_to_policy(iam.PolicyStatement(sid="ReadAnyTable", actions=["dynamodb:GetItem"], resources=["*"]))
    Validations.of(stack).acknowledge(
        Acknowledgment(id=f"strongroom-resource-wildcards::{ResourceWildcardGate.RULE}", reason="not here")
    )
    Validations.of(app).add_plugins(ResourceWildcardGate())
    # WHEN the app is synthesized THEN it still fails: wildcards are allowed by the allow-list only
    with pytest.raises(RuntimeError, match="ReadAnyTable"):
        app.synth()


def test_the_apps_synthesis_runs_the_gate(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from strongroom.infra.synth import synthesize  # noqa: PLC0415 - the whole app, as `strongroom synth`

    # GIVEN an empty allow-list WHEN the real app is synthesized THEN its allowed wildcards fail it
    monkeypatch.setattr(wildcards, "load_allow_list", lambda path=None: [])
    result = synthesize(outdir=tmp_path_factory.mktemp("cdk.out"))
    assert not result.ok
    assert result.error is not None
    assert "xray:PutTraceSegments" in result.error
    assert "network-interface/*" in result.error
