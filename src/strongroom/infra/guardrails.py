"""Guardrails as code: the service control policies, the CI/CD permission boundary and the AWS Config
conformance pack, built from the configuration (docs/adr/0037-guardrails-as-code.md).

The files in ``policies/`` are this module's output for the default configuration, kept in the
repository so that a reviewer, a policy linter and the management account read them without running
Python; a test fails when one differs from what this module produces. Regenerate them with::

    python -m strongroom.infra.guardrails --write

and, for a deployment with other settings (Regions, prefix, break-glass role), write that
configuration's copies elsewhere with ``--outdir DIR`` (the settings come from the environment, as
``strongroom synth`` reads them). ``ComplianceStack`` deploys the conformance pack and the boundary
from these same functions, never from the files.

Pure data: no CDK import, so the tests and the command run without starting jsii. PyYAML (installed
with cfn-lint in the ``infra`` extra) is imported only where the pack is rendered.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strongroom.config import ConfigError, PlatformConfig, load_config
from strongroom.infra.packaging import repository_root

POLICY_VERSION = "2012-10-17"
POLICIES = Path("policies")
SCP_DIR = POLICIES / "scp"
GUARD_DIR = POLICIES / "guard"
BOUNDARY_FILE = POLICIES / "permission-boundary-cicd.json"
PACK_FILE = POLICIES / "conformance-pack.yaml"
REGENERATE = "python -m strongroom.infra.guardrails --write"

# AWS Organizations counts an SCP's characters without insignificant whitespace against this quota.
SCP_MAX_CHARS = 5120
# The Region of the global routing stack: Route 53 publishes health-check metrics only in us-east-1, so
# its alarms are there (strongroom.infra.stacks.routing.ROUTING_REGION; a test keeps the two equal).
ROUTING_REGION = "us-east-1"
# CDK's default bootstrap qualifier (cdk.json sets no other): it names the bootstrap roles, the assets
# bucket and the version parameter a CDK deployment uses.
CDK_QUALIFIER = "hnb659fds"
CDK_BOOTSTRAP_ROLES = ("deploy", "file-publishing", "image-publishing", "lookup")

# Global services, or global operations of Regional services, whose requests name us-east-1 (or
# another fixed Region) whatever Region the caller works in: the Region guardrail must not deny them.
# KMS, Config, ACM and WAFv2 are Regional and deliberately absent: Strongroom uses them only in its
# own Regions (a CLOUDFRONT-scoped web ACL would be in us-east-1, which is allowed anyway).
GLOBAL_ACTIONS = (
    "account:*",
    "aws-portal:*",
    "budgets:*",
    "ce:*",
    "cloudfront:*",
    "cur:*",
    "directconnect:*",
    "ec2:DescribeRegions",
    "globalaccelerator:*",
    "health:*",
    "iam:*",
    "networkmanager:*",
    "organizations:*",
    "pricing:*",
    "route53-recovery-cluster:*",
    "route53-recovery-control-config:*",
    "route53-recovery-readiness:*",
    "route53:*",
    "route53domains:*",
    "s3:GetAccountPublicAccessBlock",
    "s3:ListAllMyBuckets",
    "s3:PutAccountPublicAccessBlock",
    "shield:*",
    "sts:*",
    "support:*",
    "trustedadvisor:*",
    "waf:*",
)

# What switches off the audit trail: CloudTrail's trails and AWS Config's recorder, delivery channel,
# rules and conformance packs (this pack among them).
AUDIT_TRAIL_ACTIONS = (
    "cloudtrail:DeleteTrail",
    "cloudtrail:PutEventSelectors",
    "cloudtrail:StopLogging",
    "cloudtrail:UpdateTrail",
)
CONFIG_ACTIONS = (
    "config:DeleteConfigRule",
    "config:DeleteConfigurationRecorder",
    "config:DeleteConformancePack",
    "config:DeleteDeliveryChannel",
    "config:StopConfigurationRecorder",
)
# Services whose APIs still answer plain HTTP, and whose resource policies the platform already holds
# to aws:SecureTransport: every other AWS API endpoint accepts only TLS, so the key adds nothing there.
PLAINTEXT_CAPABLE_SERVICES = ("s3", "sns", "sqs")

# SCP file name (without .json) → what it guards; each is one concern, attached on its own.
SCP_NAMES = ("lambda-code-signing", "audit-trail", "regions", "secure-transport")


def allowed_regions(config: PlatformConfig) -> tuple[str, ...]:
    """Where the platform's principals may make Regional requests: every platform Region and the
    routing stack's. The witness Region is not among them: DynamoDB keeps the witness itself, and no
    request of ours names that Region."""
    regions = [r.name for r in config.regions]
    return (*regions, *([ROUTING_REGION] if ROUTING_REGION not in regions else []))


def role_arn_pattern(role: str) -> str:
    """A role setting (a name, or an ARN) as a pattern for ``aws:PrincipalArn`` in any account of the
    organization: an SCP is attached above the accounts, so the account is a wildcard."""
    if role.startswith("arn:"):
        return role
    return f"arn:aws:iam::*:role/{role}"


def _statement(sid: str, effect: str, **fields: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": effect, **fields}


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": POLICY_VERSION, "Statement": list(statements)}


def lambda_code_signing_scp() -> dict[str, Any]:
    """Every new function names a code-signing configuration, and none is ever removed.

    ``lambda:CodeSigningConfigArn`` exists only in CreateFunction and PutFunctionCodeSigningConfig
    requests, so UpdateFunctionCode cannot be conditioned on it. Its check is the function's own
    configuration: with ``UntrustedArtifactOnDeployment: Enforce`` Lambda refuses unsigned code on
    every later UpdateFunctionCode. Not covered here: which configuration is named (one set to Warn
    passes; the PRR rule PRR-Lambda-CodeSigningEnforced judges that at synth), and container-image
    functions, which Lambda cannot sign and this denies outright."""
    return _policy(
        _statement(
            "DenyCreateFunctionWithoutCodeSigningConfig",
            "Deny",
            Action="lambda:CreateFunction",
            Resource="*",
            Condition={"Null": {"lambda:CodeSigningConfigArn": "true"}},
        ),
        _statement(
            "DenyRemovingCodeSigningConfigSoUpdateFunctionCodeStaysVerified",
            "Deny",
            Action="lambda:DeleteFunctionCodeSigningConfig",
            Resource="*",
        ),
    )


def audit_trail_scp(config: PlatformConfig) -> dict[str, Any]:
    """Nobody but the break-glass role stops, deletes or narrows CloudTrail or AWS Config."""
    exempt = {"ArnNotLike": {"aws:PrincipalArn": role_arn_pattern(config.security.break_glass_role)}}
    return _policy(
        _statement(
            "DenyStoppingOrNarrowingCloudTrail",
            "Deny",
            Action=list(AUDIT_TRAIL_ACTIONS),
            Resource="*",
            Condition=exempt,
        ),
        _statement(
            "DenyStoppingConfigAndDeletingItsRules",
            "Deny",
            Action=list(CONFIG_ACTIONS),
            Resource="*",
            Condition=exempt,
        ),
    )


def regions_scp(config: PlatformConfig) -> dict[str, Any]:
    """Every Regional request outside the configured Regions is denied; global services are not."""
    return _policy(
        _statement(
            "DenyRegionalRequestsOutsideTheConfiguredRegions",
            "Deny",
            NotAction=list(GLOBAL_ACTIONS),
            Resource="*",
            Condition={"StringNotEquals": {"aws:RequestedRegion": list(allowed_regions(config))}},
        ),
    )


def secure_transport_scp() -> dict[str, Any]:
    """Requests over plain HTTP are denied for the services that would answer them. An SCP binds only
    the organization's own principals; the platform's bucket, queue and topic policies refuse
    everybody else's plain-HTTP requests."""
    return _policy(
        _statement(
            "DenyPlainHttpToServicesThatAcceptIt",
            "Deny",
            Action=[f"{service}:*" for service in PLAINTEXT_CAPABLE_SERVICES],
            Resource="*",
            Condition={"Bool": {"aws:SecureTransport": "false"}},
        ),
    )


def scps(config: PlatformConfig) -> dict[str, dict[str, Any]]:
    """Every service control policy, by name (``policies/scp/<name>.json``)."""
    return {
        "lambda-code-signing": lambda_code_signing_scp(),
        "audit-trail": audit_trail_scp(config),
        "regions": regions_scp(config),
        "secure-transport": secure_transport_scp(),
    }


def scp_size(policy: Mapping[str, Any]) -> int:
    """The characters an SCP counts against the quota: its JSON without insignificant whitespace."""
    return len(json.dumps(policy, separators=(",", ":")))


# --- the CI/CD permission boundary ----------------------------------------------------------------------

# In the file, the account is this policy variable, which IAM resolves to the account of the role the
# boundary is attached to: the file names no account and no wildcard one. ComplianceStack passes the
# stack's own account instead (CloudFormation's schema wants twelve digits there).
ACCOUNT = "${aws:PrincipalAccount}"


def boundary_name(config: PlatformConfig) -> str:
    return f"{config.names.prefix}-cicd-boundary"


def boundary_arn(config: PlatformConfig, account: str = ACCOUNT) -> str:
    return f"arn:aws:iam::{account}:policy/{boundary_name(config)}"


def signing_profile(config: PlatformConfig) -> str:
    """The AWS Signer profile for Lambda code (profile names allow letters, digits and underscores)."""
    return f"{config.names.prefix.replace('-', '_')}_lambda"


def _cdk_bootstrap_resources(regions: Sequence[str], account: str) -> dict[str, list[str]]:
    roles = [
        f"arn:aws:iam::{account}:role/cdk-{CDK_QUALIFIER}-{role}-role-{account}-{region}"
        for region in regions
        for role in CDK_BOOTSTRAP_ROLES
    ]
    parameters = [
        f"arn:aws:ssm:{region}:{account}:parameter/cdk-bootstrap/{CDK_QUALIFIER}/version"
        for region in regions
    ]
    buckets = [f"arn:aws:s3:::cdk-{CDK_QUALIFIER}-assets-{account}-{region}" for region in regions]
    return {"roles": roles, "parameters": parameters, "buckets": buckets}


def permission_boundary(config: PlatformConfig, account: str = ACCOUNT) -> dict[str, Any]:
    """The most a CI/CD deployment role may ever do, whatever its own policies say: deploy the
    platform's stacks through CDK's bootstrap roles (or, where a role cannot be assumed, through
    CloudFormation and the assets bucket directly), and sign Lambda code. It never creates users or
    keys, never escapes or rewrites this boundary, never touches the organization, and never stops
    the audit trail. No Allow names every action or every resource."""
    regions = allowed_regions(config)
    bootstrap = _cdk_bootstrap_resources(regions, account)
    prefix = config.names.prefix
    stacks = [
        f"arn:aws:cloudformation:{region}:{account}:stack/{name}/*"
        for region in regions
        for name in (f"{prefix}-*", "CDKToolkit")
    ]
    boundary = boundary_arn(config, account)
    # The artifacts bucket of each platform Region (src/strongroom/infra/stacks/artifacts.py): the
    # deploy uploads the bundle there for AWS Signer, under the Region's pipeline key.
    platform_regions = [r.name for r in config.regions]
    artifacts = [f"arn:aws:s3:::{prefix}-artifacts-{r}-{account}" for r in platform_regions]
    return _policy(
        _statement(
            "AssumeCdkBootstrapRoles",
            "Allow",
            Action=["sts:AssumeRole", "sts:TagSession"],
            Resource=bootstrap["roles"],
        ),
        _statement(
            "ReadCdkBootstrapVersion",
            "Allow",
            Action=["ssm:GetParameter", "ssm:GetParameters"],
            Resource=bootstrap["parameters"],
        ),
        _statement(
            "DeployPlatformStacks",
            "Allow",
            Action=[
                "cloudformation:CreateChangeSet",
                "cloudformation:DeleteChangeSet",
                "cloudformation:DescribeChangeSet",
                "cloudformation:DescribeStackEvents",
                "cloudformation:DescribeStacks",
                "cloudformation:ExecuteChangeSet",
                "cloudformation:GetTemplate",
            ],
            Resource=stacks,
        ),
        _statement(
            "PublishCdkAssets",
            "Allow",
            Action=["s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket", "s3:PutObject"],
            Resource=[*bootstrap["buckets"], *(f"{bucket}/*" for bucket in bootstrap["buckets"])],
        ),
        _statement(
            "UploadBundlesForSigning",
            "Allow",
            Action=[
                "s3:GetBucketLocation",
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:ListBucket",
                "s3:PutObject",
            ],
            Resource=[*artifacts, *(f"{bucket}/*" for bucket in artifacts)],
        ),
        _statement(
            "EncryptBundlesWithThePipelineKey",
            "Allow",
            Action=["kms:Decrypt", "kms:GenerateDataKey"],
            Resource=[f"arn:aws:kms:{r}:{account}:key/*" for r in platform_regions],
            Condition={
                "ForAnyValue:StringEquals": {"kms:ResourceAliases": [config.names.key_alias("pipeline")]},
                "StringEquals": {"kms:ViaService": [f"s3.{r}.amazonaws.com" for r in platform_regions]},
            },
        ),
        _statement(
            "SignLambdaCode",
            "Allow",
            Action=["signer:DescribeSigningJob", "signer:GetSigningProfile", "signer:StartSigningJob"],
            Resource=[
                *(
                    f"arn:aws:signer:{r}:{account}:/signing-profiles/{signing_profile(config)}"
                    for r in regions
                ),
                *(f"arn:aws:signer:{r}:{account}:/signing-jobs/*" for r in regions),
            ],
        ),
        _statement(
            "DenyLongLivedCredentials",
            "Deny",
            Action=["iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:CreateUser"],
            Resource="*",
        ),
        _statement(
            "DenyRemovingPermissionBoundaries",
            "Deny",
            Action=["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"],
            Resource="*",
        ),
        _statement(
            "DenyAnyBoundaryButThisOne",
            "Deny",
            Action=["iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:PutUserPermissionsBoundary"],
            Resource="*",
            Condition={"ArnNotEquals": {"iam:PermissionsBoundary": boundary}},
        ),
        _statement(
            "DenyChangingThisBoundary",
            "Deny",
            Action=[
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion",
            ],
            Resource=boundary,
        ),
        _statement("DenyOrganizations", "Deny", Action="organizations:*", Resource="*"),
        _statement(
            "DenyStoppingTheAuditTrail",
            "Deny",
            Action=[*AUDIT_TRAIL_ACTIONS, *CONFIG_ACTIONS],
            Resource="*",
        ),
    )


# --- the AWS Config conformance pack --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ManagedRule:
    """An AWS Config managed rule in the pack: its name there, its identifier, and what it checks."""

    name: str
    identifier: str
    description: str
    parameters: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class GuardRule:
    """A Config custom policy rule whose Guard text is ``policies/guard/<file>.guard``."""

    name: str
    file: str
    resource_types: tuple[str, ...]
    description: str


MANAGED_RULES = (
    ManagedRule("lambda-inside-vpc", "LAMBDA_INSIDE_VPC", "Functions run in the platform's private subnets."),
    ManagedRule(
        "lambda-function-public-access-prohibited",
        "LAMBDA_FUNCTION_PUBLIC_ACCESS_PROHIBITED",
        "No function's resource policy lets anyone invoke it.",
    ),
    ManagedRule("dynamodb-pitr-enabled", "DYNAMODB_PITR_ENABLED", "Tables keep point-in-time recovery."),
    ManagedRule(
        "dynamodb-table-encrypted-kms",
        "DYNAMODB_TABLE_ENCRYPTED_KMS",
        "Tables are encrypted with a KMS key, not DynamoDB's own.",
    ),
    ManagedRule("dynamodb-in-backup-plan", "DYNAMODB_IN_BACKUP_PLAN", "Tables are in an AWS Backup plan."),
    ManagedRule(
        "s3-bucket-ssl-requests-only",
        "S3_BUCKET_SSL_REQUESTS_ONLY",
        "Bucket policies refuse plain-HTTP requests.",
    ),
    ManagedRule(
        "s3-default-encryption-kms", "S3_DEFAULT_ENCRYPTION_KMS", "Buckets encrypt new objects with KMS."
    ),
    ManagedRule(
        "s3-bucket-public-read-prohibited",
        "S3_BUCKET_PUBLIC_READ_PROHIBITED",
        "No bucket is publicly readable.",
    ),
    ManagedRule(
        "s3-bucket-public-write-prohibited",
        "S3_BUCKET_PUBLIC_WRITE_PROHIBITED",
        "No bucket is publicly writable.",
    ),
    ManagedRule("s3-bucket-versioning-enabled", "S3_BUCKET_VERSIONING_ENABLED", "Buckets keep versions."),
    ManagedRule("kinesis-stream-encrypted", "KINESIS_STREAM_ENCRYPTED", "Streams are encrypted with KMS."),
    ManagedRule("sns-encrypted-kms", "SNS_ENCRYPTED_KMS", "Topics are encrypted with KMS."),
    ManagedRule(
        "cmk-backing-key-rotation-enabled",
        "CMK_BACKING_KEY_ROTATION_ENABLED",
        "Customer-managed keys rotate their key material.",
    ),
    ManagedRule(
        "kms-cmk-not-scheduled-for-deletion",
        "KMS_CMK_NOT_SCHEDULED_FOR_DELETION",
        "No customer-managed key is pending deletion unnoticed.",
    ),
    ManagedRule("secretsmanager-using-cmk", "SECRETSMANAGER_USING_CMK", "Secrets are encrypted with a CMK."),
    ManagedRule(
        "secretsmanager-rotation-enabled-check",
        "SECRETSMANAGER_ROTATION_ENABLED_CHECK",
        "Secrets rotate on a schedule.",
    ),
    ManagedRule(
        "api-gw-execution-logging-enabled",
        "API_GW_EXECUTION_LOGGING_ENABLED",
        "API stages log their execution.",
        {"loggingLevel": "ERROR,INFO"},
    ),
    ManagedRule("api-gw-xray-enabled", "API_GW_XRAY_ENABLED", "API stages trace requests with X-Ray."),
    ManagedRule(
        "cloudwatch-log-group-encrypted",
        "CLOUDWATCH_LOG_GROUP_ENCRYPTED",
        "Log groups are encrypted with a KMS key.",
    ),
    ManagedRule(
        "vpc-default-security-group-closed",
        "VPC_DEFAULT_SECURITY_GROUP_CLOSED",
        "Default security groups allow no traffic.",
    ),
    ManagedRule("vpc-flow-logs-enabled", "VPC_FLOW_LOGS_ENABLED", "Every VPC has flow logs."),
    ManagedRule("wafv2-logging-enabled", "WAFV2_LOGGING_ENABLED", "Web ACLs log what they inspect."),
    ManagedRule("cloudtrail-enabled", "CLOUD_TRAIL_ENABLED", "A CloudTrail trail records the account."),
    ManagedRule(
        "iam-policy-no-statements-with-admin-access",
        "IAM_POLICY_NO_STATEMENTS_WITH_ADMIN_ACCESS",
        "No customer-managed policy allows every action on every resource.",
    ),
)

GUARD_RULES = (
    GuardRule(
        "lambda-environment-encrypted-with-cmk",
        "lambda-environment-cmk",
        ("AWS::Lambda::Function",),
        "Functions with environment variables encrypt them with a customer-managed KMS key.",
    ),
    GuardRule(
        "api-stage-has-web-acl",
        "api-stage-waf",
        ("AWS::ApiGateway::Stage",),
        "Every API stage has a WAFv2 web ACL.",
    ),
    GuardRule(
        "api-stage-writes-access-logs",
        "api-stage-access-logs",
        ("AWS::ApiGateway::Stage",),
        "Every API stage writes access logs to CloudWatch Logs.",
    ),
    GuardRule(
        "dynamodb-table-deletion-protection",
        "dynamodb-deletion-protection",
        ("AWS::DynamoDB::Table",),
        "Every table has deletion protection on.",
    ),
)
GUARD_RUNTIME = "guard-2.x.x"
PACK_HEADER = (
    "# Strongroom guardrails: the AWS Config rules every platform Region is held to\n"
    "# (docs/adr/0037-guardrails-as-code.md). Generated by strongroom.infra.guardrails from\n"
    f"# policies/guard/*.guard; do not edit: {REGENERATE}\n"
)


def guard_text(rule: GuardRule, root: Path | None = None) -> str:
    return ((root or repository_root()) / GUARD_DIR / f"{rule.file}.guard").read_text()


def _logical_id(name: str) -> str:
    return "".join(part.title() for part in name.split("-"))


def conformance_pack(root: Path | None = None) -> dict[str, Any]:
    """The pack's CloudFormation template: one ``AWS::Config::ConfigRule`` per managed rule and per
    Guard rule, each Guard rule's text read from its file."""
    resources: dict[str, Any] = {}
    for managed in MANAGED_RULES:
        properties: dict[str, Any] = {
            "ConfigRuleName": managed.name,
            "Description": managed.description,
            "Source": {"Owner": "AWS", "SourceIdentifier": managed.identifier},
        }
        if managed.parameters:
            properties["InputParameters"] = dict(managed.parameters)
        resources[_logical_id(managed.name)] = {"Type": "AWS::Config::ConfigRule", "Properties": properties}
    for rule in GUARD_RULES:
        resources[_logical_id(rule.name)] = {
            "Type": "AWS::Config::ConfigRule",
            "Properties": {
                "ConfigRuleName": rule.name,
                "Description": rule.description,
                "Scope": {"ComplianceResourceTypes": list(rule.resource_types)},
                "Source": {
                    "Owner": "CUSTOM_POLICY",
                    "SourceDetails": [
                        {"EventSource": "aws.config", "MessageType": message}
                        for message in (
                            "ConfigurationItemChangeNotification",
                            "OversizedConfigurationItemChangeNotification",
                        )
                    ],
                    "CustomPolicyDetails": {
                        "PolicyRuntime": GUARD_RUNTIME,
                        "PolicyText": guard_text(rule, root),
                        "EnableDebugLogDelivery": False,
                    },
                },
            },
        }
    # Resources only: the sections every conformance pack accepts (its description is the file's header).
    return {"Resources": resources}


def render_yaml(template: Mapping[str, Any]) -> str:
    """YAML with every multi-line string (the Guard rules) as a literal block, so the pack reads as
    the ``.guard`` files do."""
    import yaml  # type: ignore[import-untyped]  # noqa: PLC0415

    class _Dumper(yaml.SafeDumper):  # type: ignore[misc]
        pass

    def text(dumper: Any, value: str) -> Any:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, text)
    body: str = yaml.dump(dict(template), Dumper=_Dumper, sort_keys=False, width=110)
    return PACK_HEADER + body


def render_json(policy: Mapping[str, Any]) -> str:
    return json.dumps(policy, indent=2) + "\n"


# --- the files --------------------------------------------------------------------------------------------


def generated_files(config: PlatformConfig, root: Path | None = None) -> dict[Path, str]:
    """Every generated file (relative to the repository) and its content, for ``config``."""
    files = {SCP_DIR / f"{name}.json": render_json(policy) for name, policy in scps(config).items()}
    files[BOUNDARY_FILE] = render_json(permission_boundary(config))
    files[PACK_FILE] = render_yaml(conformance_pack(root))
    return files


def stale_files(config: PlatformConfig, root: Path | None = None) -> list[Path]:
    """The generated files in ``root`` (the repository) that are missing or differ."""
    root = root or repository_root()
    return [
        path
        for path, content in generated_files(config, root).items()
        if not (root / path).exists() or (root / path).read_text() != content
    ]


def write_files(config: PlatformConfig, outdir: Path, root: Path | None = None) -> list[Path]:
    written = []
    for path, content in generated_files(config, root).items():
        target = outdir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        written.append(target)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m strongroom.infra.guardrails",
        description="Check or write the guardrail files in policies/ (docs/adr/0037-guardrails-as-code.md).",
    )
    parser.add_argument(
        "--write", action="store_true", help="rewrite policies/ for the default configuration"
    )
    parser.add_argument(
        "--outdir", type=Path, help="write the environment's configuration's files under this directory"
    )
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    root = repository_root()
    try:
        if args.outdir is not None:
            for path in write_files(load_config(), args.outdir, root):
                print(path)
            return 0
        default = load_config(environ={})
        if args.write:
            for path in write_files(default, root, root):
                print(path.relative_to(root))
            return 0
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    stale = stale_files(default, root)
    for path in stale:
        print(f"{path}: out of date; run {REGENERATE}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
