"""A deployed Strongroom, checked on the account (seed 003's integration tests, for this platform):
network isolation, customer-managed encryption, point-in-time recovery, VPC endpoints, the API's
reachability and the data path. Read-only but for one transaction created through the API."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from decimal import Decimal

import pytest

from strongroom.config import PlatformConfig

from .conftest import DeployedRegion, client

FUNCTION = "AWS::Lambda::Function"
LOG_GROUP = "AWS::Logs::LogGroup"
# What the functions call, each through an endpoint in the VPC (docs/adr/0016; README "Infrastructure").
ENDPOINT_SERVICES = ("dynamodb", "s3", "kms", "secretsmanager", "sqs", "kinesis-streams", "xray")
OPEN = ("0.0.0.0/0", "::/0")


def _customer_managed(region: str, key: str) -> bool:
    metadata = client("kms", region).describe_key(KeyId=key)["KeyMetadata"]
    return bool(metadata["KeyManager"] == "CUSTOMER" and metadata["KeyState"] == "Enabled")


def _function_vpcs(deployed: DeployedRegion) -> list[dict[str, object]]:
    lam = client("lambda", deployed.region)
    configs = [lam.get_function_configuration(FunctionName=f) for f in deployed.resources.get(FUNCTION, [])]
    assert configs, f"{deployed.stack} has no functions"
    return [c.get("VpcConfig") or {} for c in configs]


def _route_tables(region: str, subnet: str, vpc: str) -> list[dict[str, object]]:
    ec2 = client("ec2", region)
    tables = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [subnet]}])
    found = tables["RouteTables"]
    if not found:  # no explicit association: the VPC's main table applies
        main = ec2.describe_route_tables(
            Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "association.main", "Values": ["true"]}]
        )
        found = main["RouteTables"]
    return list(found)


def test_every_function_runs_in_subnets_with_no_route_to_the_internet(
    deployed: dict[str, DeployedRegion],
) -> None:
    for region, stack in deployed.items():
        ec2 = client("ec2", region)
        for vpc_config in _function_vpcs(stack):
            subnets = list(vpc_config.get("SubnetIds", []))  # type: ignore[call-overload]
            vpc = str(vpc_config.get("VpcId"))
            assert subnets, f"{stack.stack}: a function outside the VPC"
            gateways = ec2.describe_internet_gateways(
                Filters=[{"Name": "attachment.vpc-id", "Values": [vpc]}]
            )
            assert gateways["InternetGateways"] == [], f"{vpc} has an internet gateway"
            for subnet in subnets:
                for table in _route_tables(region, subnet, vpc):
                    for route in table["Routes"]:  # type: ignore[attr-defined]
                        destination = route.get("DestinationCidrBlock") or route.get(
                            "DestinationIpv6CidrBlock"
                        )
                        via = route.get("GatewayId", "") + route.get("NatGatewayId", "")
                        assert not (destination in OPEN and via.startswith(("igw-", "nat-"))), (subnet, route)
                        assert "EgressOnlyInternetGatewayId" not in route, (subnet, route)


def test_vpc_endpoints_exist_for_the_services_the_functions_call(deployed: dict[str, DeployedRegion]) -> None:
    for region, stack in deployed.items():
        vpcs = {str(c.get("VpcId")) for c in _function_vpcs(stack)}
        endpoints = client("ec2", region).describe_vpc_endpoints(
            Filters=[{"Name": "vpc-id", "Values": sorted(vpcs)}]
        )["VpcEndpoints"]
        services = {
            e["ServiceName"].rsplit(".", 1)[-1] for e in endpoints if e["State"].lower() == "available"
        }
        missing = [s for s in ENDPOINT_SERVICES if s not in services]
        assert missing == [], f"{region}: no available endpoint for {missing}"
        assert all(e.get("PolicyDocument") for e in endpoints), "an endpoint without a policy"


def test_tables_are_encrypted_with_customer_managed_keys_and_have_pitr(
    deployed: dict[str, DeployedRegion], platform_config: PlatformConfig
) -> None:
    names = platform_config.names
    for region in deployed:
        dynamodb = client("dynamodb", region)
        for table in (names.transactions_table, names.audit_table):
            description = dynamodb.describe_table(TableName=table)["Table"]
            sse = description["SSEDescription"]
            assert sse["Status"] == "ENABLED"
            assert sse["SSEType"] == "KMS"
            assert _customer_managed(region, sse["KMSMasterKeyArn"]), f"{table} in {region}"
            backups = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
            pitr = backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]
            assert pitr == "ENABLED", f"{table} in {region}: PITR {pitr}"


def test_the_event_stream_bucket_and_log_groups_use_customer_managed_keys(
    deployed: dict[str, DeployedRegion],
) -> None:
    for region, stack in deployed.items():
        stream = client("kinesis", region).describe_stream_summary(StreamName=stack.outputs["EventStream"])
        summary = stream["StreamDescriptionSummary"]
        assert summary["EncryptionType"] == "KMS"
        assert _customer_managed(region, summary["KeyId"])

        bucket = stack.outputs["IngestBucket"]
        rules = client("s3", region).get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
        (rule,) = rules["Rules"]
        default = rule["ApplyServerSideEncryptionByDefault"]
        assert default["SSEAlgorithm"] in {"aws:kms", "aws:kms:dsse"}
        assert _customer_managed(region, default["KMSMasterKeyID"])

        logs = client("logs", region)
        for name in stack.resources.get(LOG_GROUP, []):
            (group,) = [
                g
                for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
                if g["logGroupName"] == name
            ]
            assert group.get("kmsKeyId"), f"{name} in {region} is not encrypted with a CMK"


def test_each_region_answers_deep_health_and_refuses_unsigned_calls(
    deployed: dict[str, DeployedRegion],
) -> None:
    for stack in deployed.values():
        base = stack.outputs["ApiUrl"].rstrip("/")
        with urllib.request.urlopen(f"{base}/health/deep", timeout=15) as response:  # noqa: S310 - https
            assert response.status == 200
            assert json.loads(response.read())["status"] == "pass"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/transactions/{uuid.uuid4()}", timeout=15)  # noqa: S310
        assert refused.value.code == 403


def test_a_signed_transaction_is_created_and_read_back_in_every_region(
    deployed: dict[str, DeployedRegion], platform_config: PlatformConfig
) -> None:
    from strongroom.client import StrongroomClient  # noqa: PLC0415

    endpoints = {region: stack.outputs["ApiUrl"] for region, stack in deployed.items()}
    platform = StrongroomClient(endpoints)  # botocore's credential chain, as any IAM caller
    for region in endpoints:
        created = platform.create_transaction(
            amount=Decimal("0.01"),
            currency="EUR",
            customer_id="aws-tier-check",
            type="credit",
            reference=f"aws tier {uuid.uuid4()}",
            region=region,
        )
        assert created.region == region
        # MRSC: each Region reads at once what another wrote; MREC: the writer's own Region does
        readers = endpoints if platform_config.consistency == "strong" else [region]
        for reader in readers:
            assert (
                platform.get_transaction(created.transaction.id, region=reader).id == created.transaction.id
            )
