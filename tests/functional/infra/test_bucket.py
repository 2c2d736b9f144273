from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from strongroom.infra.constructs._props import PropsError
from strongroom.infra.constructs.bucket import IngestBucket

from .conftest import resources, stack_template

LOCK_DAYS = 400  # not the configuration's default: the construct must take what it is given


@pytest.fixture(scope="module")
def template() -> Template:
    return stack_template(
        lambda stack: IngestBucket(stack, "Ingest", key=kms.Key(stack, "Key"), object_lock_days=LOCK_DAYS)
    )


def _bucket(template: Template, fragment: str) -> dict[str, Any]:
    (bucket,) = [b for k, b in resources(template, "AWS::S3::Bucket").items() if fragment in k]
    return bucket


def test_ingest_bucket_uses_its_cmk_with_bucket_keys(template: Template) -> None:
    (rule,) = _bucket(template, "IngestBucket")["Properties"]["BucketEncryption"][
        "ServerSideEncryptionConfiguration"
    ]
    assert rule["BucketKeyEnabled"] is True
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert "Key" in rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]["Fn::GetAtt"][0]


@pytest.mark.parametrize("fragment", ["IngestBucket", "IngestAccessLogs"])
def test_both_buckets_are_versioned_private_owner_enforced_and_retained(
    template: Template, fragment: str
) -> None:
    bucket = _bucket(template, fragment)
    properties = bucket["Properties"]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert bucket["DeletionPolicy"] == "Retain"


def test_bucket_policies_refuse_plain_http_and_old_tls(template: Template) -> None:
    for policy in resources(template, "AWS::S3::BucketPolicy").values():
        conditions = [
            s.get("Condition")
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
            if s["Effect"] == "Deny"
        ]
        assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
        assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions


def test_access_logs_go_to_the_log_bucket_and_lifecycle_cleans_up(template: Template) -> None:
    ingest = _bucket(template, "IngestBucket")["Properties"]
    assert "IngestAccessLogs" in ingest["LoggingConfiguration"]["DestinationBucketName"]["Ref"]
    (rule,) = ingest["LifecycleConfiguration"]["Rules"]
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": LOCK_DAYS}
    logs = _bucket(template, "IngestAccessLogs")["Properties"]
    assert logs["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"
    ] == {"SSEAlgorithm": "AES256"}
    (expire,) = logs["LifecycleConfiguration"]["Rules"]
    assert expire["ExpirationInDays"] == 365


def test_files_as_received_are_locked_in_governance_mode_for_the_lock_period(template: Template) -> None:
    ingest = _bucket(template, "IngestBucket")["Properties"]
    assert ingest["ObjectLockEnabled"] is True
    assert ingest["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": LOCK_DAYS}},
    }
    assert ingest["VersioningConfiguration"] == {"Status": "Enabled"}  # Object Lock requires it


def test_the_access_log_bucket_has_no_object_lock_because_s3_would_stop_delivering(
    template: Template,
) -> None:
    # S3 does not deliver server access logs to a bucket with Object Lock: "fixing" this would silently
    # end the evidence it is meant to protect (docs/adr/0021-alarms-and-audit-evidence.md).
    logs = _bucket(template, "IngestAccessLogs")["Properties"]
    assert "ObjectLockEnabled" not in logs
    assert "ObjectLockConfiguration" not in logs


def test_no_object_version_of_either_bucket_can_be_deleted_before_the_lock_period(template: Template) -> None:
    # Lifecycle: only NoncurrentVersionExpiration destroys a version of a versioned bucket (Expiration
    # merely adds a delete marker), so every rule keeps noncurrent versions at least the lock period.
    for fragment in ("IngestBucket", "IngestAccessLogs"):
        properties = _bucket(template, fragment)["Properties"]
        assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
        for rule in properties["LifecycleConfiguration"]["Rules"]:
            assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] >= LOCK_DAYS, (fragment, rule)
            assert "NoncurrentVersionExpirationInDays" not in rule
    # People: the log bucket's policy refuses version deletes to everyone (the ingest bucket's lock
    # refuses them to everyone who cannot bypass governance mode).
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources(template, "AWS::S3::BucketPolicy").values()
        if "IngestAccessLogs" in p["Properties"]["Bucket"]["Ref"]
    ]
    (deny,) = [s for s in policy if s.get("Sid") == "AccessLogsAreEvidenceNoVersionIsDeleted"]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == (
        "Deny",
        {"AWS": "*"},
        "s3:DeleteObjectVersion",
    )
    assert "Condition" not in deny


def test_an_existing_log_bucket_is_used() -> None:
    def build(stack: Stack) -> None:
        existing = s3.Bucket.from_bucket_name(stack, "Logs", "central-access-logs")
        IngestBucket(
            stack,
            "Ingest",
            key=kms.Key(stack, "Key"),
            object_lock_days=LOCK_DAYS,
            existing_logging_bucket=existing,
        )

    template = stack_template(build)
    (bucket,) = resources(template, "AWS::S3::Bucket").values()
    assert bucket["Properties"]["LoggingConfiguration"]["DestinationBucketName"] == "central-access-logs"


def test_invalid_props_fail_once_with_every_problem() -> None:
    def build(stack: Stack) -> None:
        IngestBucket(
            stack,
            "Ingest",
            key=kms.Key(stack, "Key"),
            object_lock_days=LOCK_DAYS,
            noncurrent_version_days=90,
            access_log_days=30,
            incomplete_upload_days=0,
            bucket_props={
                "versioned": False,
                "enforce_ssl": False,
                "object_lock_enabled": False,
                "lifecycle_rules": [
                    s3.LifecycleRule(id="Short", noncurrent_version_expiration=Duration.days(30))
                ],
            },
        )

    with pytest.raises(PropsError) as error:
        stack_template(build)
    problems = error.value.problems
    assert len(problems) == 7, problems
    assert any("access_log_days" in p for p in problems)
    assert any("noncurrent_version_days (90) must be ≥ object_lock_days (400)" in p for p in problems)
    assert any("bucket_props.versioned" in p for p in problems)
    assert any("bucket_props.enforce_ssl" in p for p in problems)
    assert any("bucket_props.object_lock_enabled" in p for p in problems)
    assert any(
        "lifecycle_rules Short: noncurrent versions must be kept ≥ object_lock_days" in p for p in problems
    )
