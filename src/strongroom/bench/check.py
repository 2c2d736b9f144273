"""``strongroom check`` benchmark: how long one full review of a realistic template takes.

Run ``strongroom bench check [--services N] [--json PATH] [--keep DIR]``; it needs the ``infra`` extra
and checkov's own environment (``make install`` creates both). It writes a template of about a hundred
resources, generated deterministically (``--services`` transaction services of nine resources each,
the default ten, around a shared network, key and alarm topic), and times one call of
:func:`strongroom.prr.check.check` on it: the template's own checks, the five cdk-nag packs and the PRR
pack on the template loaded with ``CfnInclude``, cfn-lint and checkov, and the merge into the
controls of prr/controls.yaml. Goal: <= 20 s of wall time, so a team can run it before every push.

Each tool's own time is what the report says it took: cfn-lint and checkov run beside the packs in
other processes, so the tools' times add up to more than the wall time. The template is a mix of what
such a service has (a function with its role, policy, log group, table, queue, bucket and alarm),
with the usual gaps left in, so every pack has findings to report, as it would on a real input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from strongroom.bench.table import Row, render, verdict

WALL_GOAL_SECONDS = 20.0
SERVICES = ("payments", "refunds", "ledger", "fx", "cards", "payouts", "disputes", "fees", "kyc", "audit")
PER_SERVICE = 9  # role, policy, function, log group, table, queue, dead-letter queue, bucket, alarm
SHARED = 10  # key, VPC, two subnets, security group, three endpoints, topic, subscription


def _name(index: int) -> str:
    base = SERVICES[index % len(SERVICES)]
    return base if index < len(SERVICES) else f"{base}{index // len(SERVICES) + 1}"


def _title(name: str) -> str:
    return name[:1].upper() + name[1:]


def shared_resources() -> dict[str, Any]:
    """What the services share: a key, an isolated network with endpoints, and the alarm topic."""
    endpoint_policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalAccount": {"Ref": "AWS::AccountId"}}},
            }
        ],
    }

    def endpoint(service: str, kind: str) -> dict[str, Any]:
        properties: dict[str, Any] = {
            "VpcId": {"Ref": "Vpc"},
            "ServiceName": {"Fn::Sub": f"com.amazonaws.${{AWS::Region}}.{service}"},
            "VpcEndpointType": kind,
            "PolicyDocument": endpoint_policy,
        }
        if kind == "Interface":
            properties |= {
                "SubnetIds": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}],
                "SecurityGroupIds": [{"Ref": "FunctionSecurityGroup"}],
                "PrivateDnsEnabled": True,
            }
        return {"Type": "AWS::EC2::VPCEndpoint", "Properties": properties}

    def subnet(cidr: str, zone: int) -> dict[str, Any]:
        return {
            "Type": "AWS::EC2::Subnet",
            "Properties": {
                "VpcId": {"Ref": "Vpc"},
                "CidrBlock": cidr,
                "AvailabilityZone": {"Fn::Select": [zone, {"Fn::GetAZs": ""}]},
            },
        }

    root = {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    return {
        "DataKey": {
            "Type": "AWS::KMS::Key",
            "Properties": {
                "EnableKeyRotation": True,
                "KeyPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": root, "Action": "kms:*", "Resource": "*"}],
                },
            },
        },
        "Vpc": {
            "Type": "AWS::EC2::VPC",
            "Properties": {"CidrBlock": "10.80.0.0/16", "EnableDnsSupport": True},
        },
        "SubnetA": subnet("10.80.1.0/24", 0),
        "SubnetB": subnet("10.80.2.0/24", 1),
        "FunctionSecurityGroup": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": "Transaction functions",
                "VpcId": {"Ref": "Vpc"},
                "SecurityGroupEgress": [
                    {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "10.80.0.0/16"}
                ],
            },
        },
        "DynamoDbEndpoint": endpoint("dynamodb", "Gateway"),
        "SqsEndpoint": endpoint("sqs", "Interface"),
        "LogsEndpoint": endpoint("logs", "Interface"),
        "AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {"KmsMasterKeyId": {"Ref": "DataKey"}}},
        "AlarmSubscription": {
            "Type": "AWS::SNS::Subscription",
            "Properties": {
                "TopicArn": {"Ref": "AlarmTopic"},
                "Protocol": "email",
                "Endpoint": "oncall@example.com",
            },
        },
    }


def service_resources(index: int) -> dict[str, Any]:
    """One transaction service: a function in the VPC with its role, policy, log group, table, queue
    (with a dead-letter queue), bucket and errors alarm. Some settings vary with ``index``, so the
    rules meet both sides of their conditions."""
    name = _name(index)
    t = _title(name)
    key_arn = {"Fn::GetAtt": ["DataKey", "Arn"]}
    tracing = {"Mode": "Active"} if index % 2 else {"Mode": "PassThrough"}
    function: dict[str, Any] = {
        "FunctionName": f"{name}-handler",
        "Runtime": "python3.13",
        "Handler": "index.handler",
        "Role": {"Fn::GetAtt": [f"{t}Role", "Arn"]},
        "Code": {"ZipFile": "def handler(event, context):\n    return None\n"},
        "MemorySize": 256 + 128 * (index % 3),
        "Timeout": 10,
        "TracingConfig": tracing,
        "VpcConfig": {
            "SubnetIds": [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}],
            "SecurityGroupIds": [{"Ref": "FunctionSecurityGroup"}],
        },
        "Environment": {"Variables": {"TABLE_NAME": {"Ref": f"{t}Table"}, "QUEUE_URL": {"Ref": f"{t}Queue"}}},
    }
    if index % 3 == 0:
        function |= {"ReservedConcurrentExecutions": 10, "KmsKeyArn": key_arn}
    statements = [
        {
            "Effect": "Allow",
            "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
            "Resource": {"Fn::GetAtt": [f"{t}Table", "Arn"]},
        },
        {"Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": {"Fn::GetAtt": [f"{t}Queue", "Arn"]}},
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": {"Fn::Sub": f"${{{t}Bucket.Arn}}/*"}},
        {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": key_arn},
    ]
    if index % 4 == 1:  # the broad grant a hurried service writes
        statements.append(
            {"Effect": "Allow", "Action": "dynamodb:*", "Resource": {"Fn::GetAtt": [f"{t}Table", "Arn"]}}
        )
    return {
        f"{t}Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                },
            },
        },
        f"{t}Policy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": f"{name}-access",
                "Roles": [{"Ref": f"{t}Role"}],
                "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
            },
        },
        f"{t}Function": {"Type": "AWS::Lambda::Function", "Properties": function},
        f"{t}Logs": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": f"/aws/lambda/{name}-handler",
                "RetentionInDays": 365 if index % 2 else 30,
                "KmsKeyId": key_arn,
            },
        },
        f"{t}Table": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {
                "BillingMode": "PAY_PER_REQUEST",
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "SSESpecification": {
                    "SSEEnabled": True,
                    "SSEType": "KMS",
                    "KMSMasterKeyId": {"Ref": "DataKey"},
                },
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": index % 2 == 0},
                "DeletionProtectionEnabled": True,
            },
        },
        f"{t}Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "KmsMasterKeyId": {"Ref": "DataKey"},
                "VisibilityTimeout": 60,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": [f"{t}DeadLetters", "Arn"]},
                    "maxReceiveCount": 5,
                },
            },
        },
        f"{t}DeadLetters": {
            "Type": "AWS::SQS::Queue",
            "Properties": {"KmsMasterKeyId": {"Ref": "DataKey"}, "MessageRetentionPeriod": 1209600},
        },
        f"{t}Bucket": {
            "Type": "AWS::S3::Bucket",
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {
                            "ServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms",
                                "KMSMasterKeyID": key_arn,
                            },
                            "BucketKeyEnabled": True,
                        }
                    ]
                },
                "VersioningConfiguration": {"Status": "Enabled"},
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
            },
        },
        f"{t}Errors": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "Namespace": "AWS/Lambda",
                "MetricName": "Errors",
                "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": f"{t}Function"}}],
                "Statistic": "Sum",
                "Period": 60,
                "EvaluationPeriods": 1,
                "Threshold": 1,
                "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                "AlarmActions": [{"Ref": "AlarmTopic"}],
            },
        },
    }


def template(services: int) -> dict[str, Any]:
    """The benchmark's template: ``services`` services around the shared resources, always the same
    for the same count (``PER_SERVICE * services + SHARED`` resources)."""
    resources = shared_resources()
    for index in range(services):
        resources |= service_resources(index)
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"strongroom bench check: {services} transaction services",
        "Resources": resources,
    }


def measure(path: Path, workdir: Path) -> tuple[float, dict[str, Any]]:
    """Wall time of one full ``check`` of ``path``, and its report."""
    from strongroom.prr.check import check  # noqa: PLC0415 - CDK starts only when a run is asked for

    started = time.perf_counter()
    report = check([path], workdir=workdir)
    return time.perf_counter() - started, report


def rows(seconds: float, report: dict[str, Any]) -> list[Row]:
    (given,) = report["inputs"]
    summary = report["summary"]
    out = [
        Row("resources in the template", str(given["resources"])),
        Row(
            "wall time of one full check",
            f"{seconds:.1f} s",
            f"<= {WALL_GOAL_SECONDS:.0f} s",
            verdict(seconds <= WALL_GOAL_SECONDS),
        ),
    ]
    for tool in report["tools"]:
        detail = (
            f" ({tool['detail']})" if tool["status"] == "ran" else f" ({tool['status']}: {tool['detail']})"
        )
        # The PRR pack runs inside cdk-nag's validation, so its time is part of the cdk-nag row.
        took = "within cdk-nag's" if tool["name"] == "prr" else f"{tool['seconds']:.1f} s"
        out.append(Row(f"tool time: {tool['name']}", f"{took}{detail}"))
    by_tool: dict[str, int] = {}
    for finding in report["findings"]:
        by_tool[finding["tool"]] = by_tool.get(finding["tool"], 0) + 1
    counts = ", ".join(f"{tool} {n}" for tool, n in sorted(by_tool.items()))
    controls = ", ".join(f"{n} {status}" for status, n in summary["controls"].items())
    out += [
        Row("findings", f"{summary['findings']} ({counts})"),
        Row("verdict of the review", f"{report['verdict']} ({controls})"),
        Row("machine: CPUs · 1-min load average", f"{os.cpu_count()} · {os.getloadavg()[0]:.1f}"),
    ]
    return out


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="strongroom bench check", description=__doc__.splitlines()[0])
    default = len(SERVICES)
    parser.add_argument(
        "--services",
        type=int,
        default=default,
        help=f"transaction services in the template, {PER_SERVICE} resources each "
        f"(default {default}: {PER_SERVICE * default + SHARED} resources)",
    )
    parser.add_argument("--json", type=Path, help="also write the timings and the summary to this file")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the template and the assembly here")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    document = template(args.services)
    with tempfile.TemporaryDirectory(prefix="strongroom-bench-check-") as scratch:
        where = args.keep or Path(scratch)
        where.mkdir(parents=True, exist_ok=True)
        path = where / "bench-template.json"
        path.write_text(json.dumps(document, indent=1) + "\n")
        print(f"check: {len(document['Resources'])} resources, one full run", file=sys.stderr)
        seconds, report = measure(path, where / "work")
    table = rows(seconds, report)
    print(render(table))
    if args.json:
        results = {
            "resources": len(document["Resources"]),
            "wall_seconds": round(seconds, 2),
            "goal_seconds": WALL_GOAL_SECONDS,
            "tools": report["tools"],
            "summary": report["summary"],
        }
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
