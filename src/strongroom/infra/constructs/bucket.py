"""The bucket batch files land in (used by the pipelines), and the bucket its access logs go to.

The ingest bucket: SSE-KMS with a customer-managed key and S3 Bucket Keys, versioning, every public
access path blocked, object ownership enforced (no ACLs), a policy that refuses non-TLS and TLS < 1.2,
server access logs, and lifecycle rules that clean up incomplete uploads and old versions. The log
bucket is the same except for encryption: S3 server access logging can deliver only to SSE-S3 buckets.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration, FeatureFlags, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from strongroom.infra.constructs._props import Problems, acknowledge, merge, skip_checkov

LOGS_BY_BUCKET_POLICY = "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy"
_REQUIRED_BUCKET_PROPS = (
    "encryption",
    "encryption_key",
    "bucket_key_enabled",
    "versioned",
    "block_public_access",
    "enforce_ssl",
    "minimum_tls_version",
    "object_ownership",
    "server_access_logs_bucket",
)


class IngestBucket(Construct):
    """Attributes: ``bucket``, ``access_logs_bucket`` (created unless ``existing_logging_bucket``)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        bucket_name: str | None = None,
        existing_logging_bucket: s3.IBucket | None = None,
        noncurrent_version_days: int = 90,
        incomplete_upload_days: int = 7,
        access_log_days: int = 365,
        bucket_props: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        problems = Problems("IngestBucket")
        problems.check(noncurrent_version_days >= 1, "noncurrent_version_days must be ≥ 1")
        problems.check(incomplete_upload_days >= 1, "incomplete_upload_days must be ≥ 1")
        problems.check(
            access_log_days >= 365, "access_log_days must be ≥ 365 (access logs are audit records)"
        )
        problems.locked(bucket_props, dict.fromkeys(_REQUIRED_BUCKET_PROPS), "bucket_props")
        problems.check(
            FeatureFlags.of(self).is_enabled(LOGS_BY_BUCKET_POLICY) is True,
            f"the app must set the CDK feature flag {LOGS_BY_BUCKET_POLICY} (cdk.json): access logs are "
            "delivered under a bucket policy, never a LogDeliveryWrite ACL",
        )
        problems.raise_if_any()

        secure: dict[str, Any] = {
            "versioned": True,
            "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
            "enforce_ssl": True,
            "minimum_tls_version": 1.2,
            "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        }
        self.access_logs_bucket: s3.IBucket = existing_logging_bucket or s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,  # the only encryption log delivery supports
            removal_policy=RemovalPolicy.RETAIN,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireAccessLogs",
                    expiration=Duration.days(access_log_days),
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(incomplete_upload_days),
                )
            ],
            **secure,
        )
        if existing_logging_bucket is None:
            skip_checkov(
                self.access_logs_bucket,
                "CKV_AWS_18",
                "This is the server-access-log bucket itself; logging it into itself would log its own log "
                "deliveries forever. CloudTrail data events are the control for who reads it.",
            )
            for rule in (
                "NIST.800.53.R5-S3DefaultEncryptionKMS",
                "PCI.DSS.321-S3DefaultEncryptionKMS",
                "HIPAA.Security-S3DefaultEncryptionKMS",
            ):
                acknowledge(
                    self.access_logs_bucket,
                    rule,
                    "S3 server access logging delivers only to buckets encrypted with SSE-S3 (AES-256); "
                    "SSE-KMS would silently stop log delivery.",
                )
        for rule in (
            "NIST.800.53.R5-S3BucketReplicationEnabled",
            "PCI.DSS.321-S3BucketReplicationEnabled",
            "HIPAA.Security-S3BucketReplicationEnabled",
        ):
            acknowledge(
                self,
                rule,
                "Each Region ingests its own files and records outcomes in the replicated tables; raw files "
                "and their access logs stay in the Region that received them. Versioning and retained "
                "buckets protect against loss.",
            )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            **merge(
                {
                    "removal_policy": RemovalPolicy.RETAIN,
                    "lifecycle_rules": [
                        s3.LifecycleRule(
                            id="CleanUp",
                            abort_incomplete_multipart_upload_after=Duration.days(incomplete_upload_days),
                            noncurrent_version_expiration=Duration.days(noncurrent_version_days),
                            expired_object_delete_marker=True,
                        )
                    ],
                    "server_access_logs_prefix": "ingest/",
                    "bucket_name": bucket_name,
                },
                bucket_props,
                {
                    **secure,
                    "encryption": s3.BucketEncryption.KMS,
                    "encryption_key": key,
                    "bucket_key_enabled": True,
                    "server_access_logs_bucket": self.access_logs_bucket,
                },
            ),
        )
