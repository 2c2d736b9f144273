"""Every PRR rule, on small stacks of raw CloudFormation resources (L1 ``CfnResource``): a compliant
and a non-compliant case each, judged by running the whole pack (docs/adr/0034)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import (
    App,
    CfnCodeDeployLambdaAliasUpdate,
    CfnResource,
    CfnUpdatePolicy,
    Environment,
    Stack,
    Validations,
)

from strongroom.prr import RULES, Policy, ProductionReadinessChecks
from strongroom.prr.pack import module_name

Resources = dict[str, tuple[str, dict[str, Any]]]
FN = "AWS::Lambda::Function"
ROLE_ARN = "arn:aws:iam::111111111111:role/r"
SUBNET = {"SubnetIds": [{"Ref": "Subnet"}], "SecurityGroupIds": ["sg-1"]}
NETWORK: Resources = {
    "Subnet": ("AWS::EC2::Subnet", {"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/24"}),
    "Table": ("AWS::EC2::RouteTable", {"VpcId": "vpc-1"}),
    "Assoc": (
        "AWS::EC2::SubnetRouteTableAssociation",
        {"SubnetId": {"Ref": "Subnet"}, "RouteTableId": {"Ref": "Table"}},
    ),
}
DEFAULT_ROUTE: Resources = {
    "Default": (
        "AWS::EC2::Route",
        {"RouteTableId": {"Ref": "Table"}, "DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1"},
    )
}
ROLE: Resources = {
    "Role": ("AWS::IAM::Role", {"AssumeRolePolicyDocument": {}}),
    "Grants": (
        "AWS::IAM::Policy",
        {
            "PolicyName": "p",
            "Roles": [{"Ref": "Role"}],
            "PolicyDocument": {
                "Statement": [
                    {"Effect": "Allow", "Action": ["kms:Decrypt", "dynamodb:GetItem"], "Resource": "*"},
                    # Lambda's service writes the function's logs, from outside the VPC: no endpoint
                    {"Effect": "Allow", "Action": ["logs:PutLogEvents"], "Resource": "*"},
                ]
            },
        },
    ),
}
OWN_ACCOUNT = {"StringEquals": {"aws:PrincipalAccount": "111111111111"}}


def endpoint(service: str, statement: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    props: dict[str, Any] = {
        "ServiceName": f"com.amazonaws.eu-west-1.{service}",
        "VpcId": "vpc-1",
        "VpcEndpointType": "Interface",
    }
    if statement is not None:
        props["PolicyDocument"] = {"Statement": [statement]}
    return "AWS::EC2::VPCEndpoint", props


def fn(**props: Any) -> tuple[str, dict[str, Any]]:
    return FN, {
        "Code": {"ZipFile": "x"},
        "Role": ROLE_ARN,
        "Runtime": "python3.13",
        "Handler": "a.b",
        **props,
    }


def alarm(**props: Any) -> tuple[str, dict[str, Any]]:
    base = {"ComparisonOperator": "LessThanThreshold", "EvaluationPeriods": 1, "Threshold": 1}
    return "AWS::CloudWatch::Alarm", {**base, **props}


def gt(**replica: Any) -> tuple[str, dict[str, Any]]:
    return "AWS::DynamoDB::GlobalTable", {
        "TableName": "t",
        "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
        "Replicas": [{"Region": "eu-west-1", **replica}, {"Region": "eu-central-1", **replica}],
    }


def method(auth: str, path: str) -> Resources:
    return {
        "Api": ("AWS::ApiGateway::RestApi", {"Name": "a"}),
        "Part": (
            "AWS::ApiGateway::Resource",
            {
                "RestApiId": {"Ref": "Api"},
                "ParentId": {"Fn::GetAtt": ["Api", "RootResourceId"]},
                "PathPart": path,
            },
        ),
        "Method": (
            "AWS::ApiGateway::Method",
            {
                "RestApiId": {"Ref": "Api"},
                "ResourceId": {"Ref": "Part"},
                "HttpMethod": "GET",
                "AuthorizationType": auth,
            },
        ),
    }


def stage(**props: Any) -> Resources:
    return {
        "Api": ("AWS::ApiGateway::RestApi", {"Name": "a"}),
        "Subject": (
            "AWS::ApiGateway::Stage",
            {"RestApiId": {"Ref": "Api"}, "StageName": "prod", "DeploymentId": "d", **props},
        ),
    }


WAF = {
    "Waf": (
        "AWS::WAFv2::WebACLAssociation",
        {
            "WebACLArn": "arn:aws:wafv2:eu-west-1:111111111111:regional/webacl/w/1",
            "ResourceArn": {
                "Fn::Join": [
                    "",
                    [
                        "arn:aws:apigateway:eu-west-1::/restapis/",
                        {"Ref": "Api"},
                        "/stages/",
                        {"Ref": "Subject"},
                    ],
                ]
            },
        },
    )
}


def health(path: str, interval: int = 10, threshold: int = 2) -> tuple[str, dict[str, Any]]:
    config = {
        "Type": "HTTPS",
        "FullyQualifiedDomainName": "api.example",
        "ResourcePath": path,
        "RequestInterval": interval,
        "FailureThreshold": threshold,
    }
    return "AWS::Route53::HealthCheck", {"HealthCheckConfig": config}


def record(ttl: int, **props: Any) -> tuple[str, dict[str, Any]]:
    return "AWS::Route53::RecordSet", {
        "Name": "api.example.",
        "Type": "CNAME",
        "HostedZoneId": "Z1",
        "TTL": str(ttl),
        "ResourceRecords": ["x"],
        "SetIdentifier": "a",
        **props,
    }


def bucket(algorithm: str, key: str | None = None) -> tuple[str, dict[str, Any]]:
    default = {"SSEAlgorithm": algorithm, **({"KMSMasterKeyID": key} if key else {})}
    return "AWS::S3::Bucket", {
        "BucketEncryption": {
            "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": default}]
        }
    }


def key_policy(principal: Any) -> tuple[str, dict[str, Any]]:
    statement = {"Effect": "Allow", "Principal": principal, "Action": "kms:*", "Resource": "*"}
    return "AWS::KMS::Key", {"EnableKeyRotation": True, "KeyPolicy": {"Statement": [statement]}}


def iam_policy(action: str) -> tuple[str, dict[str, Any]]:
    statement = {"Effect": "Allow", "Action": action, "Resource": {"Fn::GetAtt": ["Queue", "Arn"]}}
    return "AWS::IAM::Policy", {
        "PolicyName": "p",
        "Roles": ["r"],
        "PolicyDocument": {"Statement": [statement]},
    }


def plan(destination: str) -> tuple[str, dict[str, Any]]:
    rule = {
        "RuleName": "daily",
        "TargetBackupVault": "v",
        "CopyActions": [{"DestinationBackupVaultArn": destination}],
    }
    return "AWS::Backup::BackupPlan", {"BackupPlan": {"BackupPlanName": "p", "BackupPlanRule": [rule]}}


TOPIC_ALARM = alarm(
    AlarmActions=[{"Ref": "Topic"}], Namespace="AWS/Lambda", MetricName="Errors", Period=60, Statistic="Sum"
)
REGION_DOWN = {
    "Namespace": "AWS/Route53",
    "MetricName": "HealthCheckStatus",
    "Period": 60,
    "Statistic": "Minimum",
}
TLS_DENY = {
    "Effect": "Deny",
    "Principal": {"AWS": "*"},
    "Action": "s3:*",
    "Resource": "*",
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
SELECTION = (
    "AWS::Backup::BackupSelection",
    {
        "BackupPlanId": "p",
        "BackupSelection": {
            "SelectionName": "s",
            "IamRoleArn": ROLE_ARN,
            "Resources": [{"Fn::GetAtt": ["Gt", "Arn"]}],
        },
    },
)

DEPLOYMENT_GROUP = {
    "ApplicationName": "app",
    "ServiceRoleArn": ROLE_ARN,
    "DeploymentConfigName": "CodeDeployDefault.LambdaCanary10Percent5Minutes",
    "DeploymentStyle": {"DeploymentType": "BLUE_GREEN", "DeploymentOption": "WITH_TRAFFIC_CONTROL"},
    "AutoRollbackConfiguration": {
        "Enabled": True,
        "Events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"],
    },
    "AlarmConfiguration": {"Enabled": True, "Alarms": [{"Name": "release-errors"}]},
}
CANARY: Resources = {"Group": ("AWS::CodeDeploy::DeploymentGroup", DEPLOYMENT_GROUP)}
UNWATCHED_GROUP = (
    "AWS::CodeDeploy::DeploymentGroup",
    {**DEPLOYMENT_GROUP, "AlarmConfiguration": {"Enabled": False}},
)
ALIAS = (
    "AWS::Lambda::Alias",
    {"FunctionName": "f", "FunctionVersion": "1", "Name": "live", "UpdatePolicy": "Group"},
)

# rule id -> (compliant resources, non-compliant resources); the rule's finding is expected on "Subject".
CASES: dict[str, tuple[Resources, Resources]] = {
    "PRR-Lambda-NoInternetPath": (
        {**NETWORK, "Subject": fn(VpcConfig=SUBNET)},
        {**NETWORK, **DEFAULT_ROUTE, "Subject": fn(VpcConfig=SUBNET)},
    ),
    "PRR-Lambda-InterfaceEndpoints": (
        {
            **ROLE,
            "Kms": endpoint("kms"),
            "Ddb": endpoint("dynamodb"),
            "Subject": fn(VpcConfig=SUBNET, Role={"Fn::GetAtt": ["Role", "Arn"]}),
        },
        {
            **ROLE,
            "Kms": endpoint("kms"),
            "Subject": fn(VpcConfig=SUBNET, Role={"Fn::GetAtt": ["Role", "Arn"]}),
        },
    ),
    "PRR-VpcEndpoint-PolicyNotOpen": (
        {
            "Subject": endpoint(
                "kms", {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}
            )
        },
        {"Subject": endpoint("kms", {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"})},
    ),
    "PRR-VpcEndpoint-PolicyOwnAccount": (
        {
            "Subject": endpoint(
                "kms",
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "kms:Decrypt",
                    "Resource": "*",
                    "Condition": OWN_ACCOUNT,
                },
            )
        },
        {
            "Subject": endpoint(
                "kms", {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}
            )
        },
    ),
    "PRR-Lambda-CodeSigningEnforced": (
        {
            "Signing": (
                "AWS::Lambda::CodeSigningConfig",
                {
                    "AllowedPublishers": {"SigningProfileVersionArns": ["arn:p"]},
                    "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Enforce"},
                },
            ),
            "Subject": fn(CodeSigningConfigArn={"Ref": "Signing"}),
        },
        {
            "Signing": (
                "AWS::Lambda::CodeSigningConfig",
                {
                    "AllowedPublishers": {"SigningProfileVersionArns": ["arn:p"]},
                    "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Warn"},
                },
            ),
            "Subject": fn(CodeSigningConfigArn={"Ref": "Signing"}),
        },
    ),
    "PRR-Lambda-AsyncFailureDestination": (
        {
            "Invoke": (
                "AWS::Lambda::Permission",
                {
                    "Action": "lambda:InvokeFunction",
                    "FunctionName": {"Ref": "Subject"},
                    "Principal": "events.amazonaws.com",
                },
            ),
            "Subject": fn(DeadLetterConfig={"TargetArn": "arn:aws:sqs:eu-west-1:111111111111:dlq"}),
        },
        {
            "Invoke": (
                "AWS::Lambda::Permission",
                {
                    "Action": "lambda:InvokeFunction",
                    "FunctionName": {"Ref": "Subject"},
                    "Principal": "sns.amazonaws.com",
                },
            ),
            "Subject": fn(),
        },
    ),
    "PRR-Lambda-ReservedConcurrency": ({"Subject": fn(ReservedConcurrentExecutions=10)}, {"Subject": fn()}),
    "PRR-Lambda-Tracing": (
        {"Subject": fn(TracingConfig={"Mode": "Active"})},
        {"Subject": fn(TracingConfig={"Mode": "PassThrough"})},
    ),
    "PRR-Lambda-EnvironmentCmk": (
        {
            "Subject": fn(
                Environment={"Variables": {"A": "b"}}, KmsKeyArn="arn:aws:kms:eu-west-1:111111111111:key/1"
            )
        },
        {"Subject": fn(Environment={"Variables": {"A": "b"}})},
    ),
    "PRR-Logs-RetentionPolicy": (
        {"Subject": ("AWS::Logs::LogGroup", {"RetentionInDays": 365})},
        {"Subject": ("AWS::Logs::LogGroup", {"RetentionInDays": 30})},
    ),
    "PRR-Logs-Cmk": (
        {"Subject": ("AWS::Logs::LogGroup", {"KmsKeyId": "arn:k"})},
        {"Subject": ("AWS::Logs::LogGroup", {})},
    ),
    "PRR-DynamoDB-TableCmk": (
        {
            "Subject": (
                "AWS::DynamoDB::Table",
                {"SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": "arn:k"}},
            )
        },
        {"Subject": ("AWS::DynamoDB::Table", {"SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"}})},
    ),
    "PRR-DynamoDB-GlobalTableReplicaKeys": (
        {"Subject": gt(SSESpecification={"KMSMasterKeyId": "arn:k"})},
        {"Subject": gt()},
    ),
    "PRR-DynamoDB-Pitr": (
        {"Subject": gt(PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})},
        {"Subject": gt()},
    ),
    "PRR-DynamoDB-DeletionProtection": (
        {"Subject": gt(DeletionProtectionEnabled=True)},
        {"Subject": gt(DeletionProtectionEnabled=False)},
    ),
    "PRR-DynamoDB-BackupPlanMembership": (
        {
            "Gt": gt(),
            "Subject": gt(),
            "Pick": SELECTION,
            "Pick2": (
                "AWS::Backup::BackupSelection",
                {
                    "BackupPlanId": "p",
                    "BackupSelection": {
                        "SelectionName": "s2",
                        "IamRoleArn": ROLE_ARN,
                        "Resources": [{"Fn::GetAtt": ["Subject", "Arn"]}],
                    },
                },
            ),
        },
        {"Gt": gt(), "Subject": gt(), "Pick": SELECTION},
    ),
    "PRR-Kinesis-StreamCmk": (
        {
            "Subject": (
                "AWS::Kinesis::Stream",
                {"StreamEncryption": {"EncryptionType": "KMS", "KeyId": "arn:k"}},
            )
        },
        {
            "Subject": (
                "AWS::Kinesis::Stream",
                {"StreamEncryption": {"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}},
            )
        },
    ),
    "PRR-S3-BucketCmk": ({"Subject": bucket("aws:kms", "arn:k")}, {"Subject": bucket("AES256")}),
    "PRR-S3-TlsOnly": (
        {
            "Subject": ("AWS::S3::Bucket", {}),
            "Policy": (
                "AWS::S3::BucketPolicy",
                {"Bucket": {"Ref": "Subject"}, "PolicyDocument": {"Statement": [TLS_DENY]}},
            ),
        },
        {
            "Subject": ("AWS::S3::Bucket", {}),
            "Policy": (
                "AWS::S3::BucketPolicy",
                {
                    "Bucket": {"Ref": "Subject"},
                    "PolicyDocument": {"Statement": [{**TLS_DENY, "Effect": "Allow"}]},
                },
            ),
        },
    ),
    "PRR-KMS-KeyRotation": (
        {"Subject": ("AWS::KMS::Key", {"EnableKeyRotation": True})},
        {"Subject": ("AWS::KMS::Key", {"EnableKeyRotation": False})},
    ),
    "PRR-KMS-NoWildcardForNonRoot": (
        {"Subject": key_policy({"AWS": "arn:aws:iam::111111111111:root"})},
        {"Subject": key_policy({"AWS": "arn:aws:iam::111111111111:role/admin"})},
    ),
    "PRR-ApiGateway-MethodAuth": (
        {**method("NONE", "health"), "Subject": method("AWS_IAM", "accounts")["Method"]},
        {**method("NONE", "accounts"), "Subject": method("NONE", "accounts")["Method"]},
    ),
    "PRR-ApiGateway-WafAssociated": ({**stage(), **WAF}, stage()),
    "PRR-ApiGateway-JsonAccessLogs": (
        stage(
            AccessLogSetting={
                "DestinationArn": "arn:l",
                "Format": '{"id":"$context.requestId","status":$context.status}',
            }
        ),
        stage(AccessLogSetting={"DestinationArn": "arn:l", "Format": "$context.requestId $context.status"}),
    ),
    "PRR-ApiGateway-Tracing": (stage(TracingEnabled=True), stage()),
    "PRR-Route53-DeepHealthCheck": (
        {"Subject": health("/prod/health/deep")},
        {"Subject": health("/prod/health")},
    ),
    "PRR-Route53-RecordHealthChecked": (
        {"Subject": record(30, Failover="PRIMARY", HealthCheckId="hc-1")},
        {"Subject": record(30, Failover="PRIMARY")},
    ),
    "PRR-Route53-RtoBudget": (
        {
            "Check": health("/health/deep"),
            "Subject": record(30, Failover="PRIMARY", HealthCheckId={"Ref": "Check"}),
        },
        {
            "Check": health("/health/deep", interval=30, threshold=3),
            "Subject": record(30, Failover="PRIMARY", HealthCheckId={"Ref": "Check"}),
        },
    ),
    "PRR-IAM-NoWildcardActionsOnOwnResources": (
        {"Subject": iam_policy("sqs:SendMessage")},
        {"Subject": iam_policy("sqs:*")},
    ),
    "PRR-EC2-NoOpenCidr": (
        {
            "Subject": (
                "AWS::EC2::SecurityGroup",
                {
                    "GroupDescription": "g",
                    "SecurityGroupEgress": [{"IpProtocol": "tcp", "CidrIp": "10.0.0.0/16"}],
                },
            )
        },
        {
            "Subject": (
                "AWS::EC2::SecurityGroup",
                {
                    "GroupDescription": "g",
                    "SecurityGroupEgress": [{"IpProtocol": "-1", "CidrIp": "0.0.0.0/0"}],
                },
            )
        },
    ),
    "PRR-CloudWatch-AlarmSubscribed": (
        {
            "Topic": ("AWS::SNS::Topic", {}),
            "Sub": (
                "AWS::SNS::Subscription",
                {"TopicArn": {"Ref": "Topic"}, "Protocol": "email", "Endpoint": "a@b.example"},
            ),
            "Subject": TOPIC_ALARM,
        },
        {"Topic": ("AWS::SNS::Topic", {}), "Subject": TOPIC_ALARM},
    ),
    "PRR-CloudWatch-RegionDownMissingData": (
        {"Subject": alarm(**REGION_DOWN, TreatMissingData="breaching")},
        {"Subject": alarm(**REGION_DOWN, TreatMissingData="notBreaching")},
    ),
    "PRR-FIS-StopConditions": (
        {
            "Subject": (
                "AWS::FIS::ExperimentTemplate",
                {"StopConditions": [{"Source": "aws:cloudwatch:alarm", "Value": "arn:a"}]},
            )
        },
        {"Subject": ("AWS::FIS::ExperimentTemplate", {"StopConditions": [{"Source": "none"}]})},
    ),
    "PRR-Backup-VaultLock": (
        {
            "Subject": (
                "AWS::Backup::BackupVault",
                {"BackupVaultName": "v", "LockConfiguration": {"MinRetentionDays": 35}},
            )
        },
        {"Subject": ("AWS::Backup::BackupVault", {"BackupVaultName": "v"})},
    ),
    "PRR-Lambda-AliasCanaryRollback": (
        {**CANARY, "Subject": ALIAS},
        {**{k: v for k, v in CANARY.items() if k != "Group"}, "Group": UNWATCHED_GROUP, "Subject": ALIAS},
    ),
    "PRR-Backup-CrossRegionCopy": (
        {"Subject": plan("arn:aws:backup:eu-central-1:111111111111:backup-vault:v")},
        {"Subject": plan("arn:aws:backup:eu-west-1:111111111111:backup-vault:v")},
    ),
}


def findings(resources: Resources, policy: Policy | None = None) -> set[tuple[str, str]]:
    """(rule id, logical id) of every PRR finding on a stack of these raw resources; an alias whose
    properties carry ``UpdatePolicy`` gets it as its update policy (CodeDeploy's, by group name)."""
    stack = Stack(App(), "Test", env=Environment(region="eu-west-1"))
    made = {}
    for logical, (kind, props) in resources.items():
        own = {k: v for k, v in props.items() if k != "UpdatePolicy"}
        made[logical] = CfnResource(stack, logical, type=kind, properties=own)
    for logical, (_, props) in resources.items():
        if "UpdatePolicy" in props:
            made[logical].cfn_options.update_policy = CfnUpdatePolicy(
                code_deploy_lambda_alias_update=CfnCodeDeployLambdaAliasUpdate(
                    application_name="app", deployment_group_name=made[props["UpdatePolicy"]].ref
                )
            )
    report = ProductionReadinessChecks(policy=policy).validate_scope(stack)
    return {
        (v.rule_name, r.construct_path.rsplit("/", 1)[-1])
        for v in report.violations
        for r in v.violating_resources
    }


@pytest.mark.parametrize("rule", sorted(CASES))
def test_compliant(rule: str) -> None:
    compliant, _ = CASES[rule]
    assert (rule, "Subject") not in findings(compliant)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_non_compliant(rule: str) -> None:
    _, non_compliant = CASES[rule]
    assert (rule, "Subject") in findings(non_compliant)


def test_every_rule_has_its_cases_and_its_file() -> None:
    assert set(CASES) == set(RULES)
    for rule_id, rule in RULES.items():
        assert rule.function.__name__ == module_name(rule_id)
        assert rule.function.__module__ == f"strongroom.prr.rules.{module_name(rule_id)}"
        assert rule.description
        assert rule_id.startswith("PRR-")


def test_the_rto_budget_counts_what_the_template_cannot_show() -> None:
    # GIVEN health checks and a TTL that fail over in 10 s x 2 + 30 s = 50 s
    _, resources = CASES["PRR-Route53-RtoBudget"]
    resources = {**resources, "Check": health("/health/deep")}
    # THEN a 60 s RTO holds, until 15 s the template cannot show are added
    assert ("PRR-Route53-RtoBudget", "Subject") not in findings(resources, Policy(rto_seconds=60))
    assert ("PRR-Route53-RtoBudget", "Subject") in findings(
        resources, Policy(rto_seconds=60, unobserved_failover_seconds=15)
    )


def test_a_rule_that_throws_is_a_finding_not_a_crash() -> None:
    # GIVEN a health check whose interval is not a number
    resources: Resources = {
        "Check": (
            "AWS::Route53::HealthCheck",
            {
                "HealthCheckConfig": {
                    "Type": "HTTPS",
                    "ResourcePath": "/health/deep",
                    "RequestInterval": "soon",
                }
            },
        ),
        "Subject": record(30, Failover="PRIMARY", HealthCheckId={"Ref": "Check"}),
    }
    # THEN the RTO rule reports it rather than raising
    assert ("PRR-Route53-RtoBudget", "Subject") in findings(resources)


def test_an_acknowledged_finding_is_not_reported_and_the_pack_plugs_into_validations() -> None:
    app = App()
    stack = Stack(app, "Test", env=Environment(region="eu-west-1"))
    CfnResource(stack, "Subject", type="AWS::Logs::LogGroup", properties={"RetentionInDays": 30})
    pack = ProductionReadinessChecks(app)
    assert ("PRR-Logs-RetentionPolicy", "Subject") in {
        (v.rule_name, r.construct_path.rsplit("/", 1)[-1])
        for v in pack.validate_scope(app).violations
        for r in v.violating_resources
    }
    from aws_cdk import Acknowledgment  # noqa: PLC0415

    Validations.of(stack.node.find_child("Subject")).acknowledge(
        Acknowledgment(id="PRR-Logs-RetentionPolicy", reason="a test")
    )
    assert all(v.rule_name != "PRR-Logs-RetentionPolicy" for v in pack.validate_scope(app).violations)
