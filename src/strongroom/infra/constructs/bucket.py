"""The bucket batch files land in (used by the pipelines), and the bucket its access logs go to.

The ingest bucket: SSE-KMS with a customer-managed key and S3 Bucket Keys, versioning, every public
access path blocked, object ownership enforced (no ACLs), a policy that refuses non-TLS and TLS < 1.2,
server access logs, and lifecycle rules that clean up incomplete uploads. The log bucket is the same
except for encryption: S3 server access logging can deliver only to SSE-S3 buckets.

Both hold evidence (docs/adr/0021-alarms-and-audit-evidence.md): the files as received, and who
touched them. Neither lifecycle ever removes an object version before ``object_lock_days``. The ingest
bucket has S3 Object Lock (GOVERNANCE, default retention ``object_lock_days``). The log bucket cannot:
S3 does not deliver server access logs to a bucket with Object Lock. Its policy instead refuses to
delete any object version, so a log record can only be hidden behind a delete marker, never destroyed,
until the lifecycle removes it ``object_lock_days`` later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import Duration, FeatureFlags, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from strongroom.infra.constructs._props import Problems, merge

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
    "object_lock_enabled",
    "object_lock_default_retention",
)


class IngestBucket(Construct):
    """Attributes: ``bucket``, ``access_logs_bucket`` (created unless ``existing_logging_bucket``),
    ``object_lock_days``.

    ``object_lock_days``: how long every object version is kept, whatever anyone does short of bypassing
    governance mode: the ingest bucket's default Object Lock retention, and the least time any
    lifecycle rule of either bucket keeps a noncurrent version. ``noncurrent_version_days`` (default:
    ``object_lock_days``) may keep them longer, never shorter.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        object_lock_days: int,
        bucket_name: str | None = None,
        existing_logging_bucket: s3.IBucket | None = None,
        noncurrent_version_days: int | None = None,
        incomplete_upload_days: int = 7,
        access_log_days: int = 365,
        bucket_props: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if noncurrent_version_days is None:
            noncurrent_version_days = object_lock_days
        problems = Problems("IngestBucket")
        problems.check(object_lock_days >= 1, "object_lock_days must be ≥ 1")
        problems.check(
            noncurrent_version_days >= object_lock_days,
            f"noncurrent_version_days ({noncurrent_version_days}) must be ≥ object_lock_days "
            f"({object_lock_days}): no lifecycle rule may remove evidence before its lock ends",
        )
        problems.check(incomplete_upload_days >= 1, "incomplete_upload_days must be ≥ 1")
        problems.check(
            access_log_days >= 365, "access_log_days must be ≥ 365 (access logs are audit records)"
        )
        problems.locked(bucket_props, dict.fromkeys(_REQUIRED_BUCKET_PROPS), "bucket_props")
        for rule in (bucket_props or {}).get("lifecycle_rules") or ():
            kept = rule.noncurrent_version_expiration
            problems.check(
                kept is None or kept.to_days() >= object_lock_days,
                f"bucket_props.lifecycle_rules {rule.id or ''}: noncurrent versions must be kept ≥ "
                f"object_lock_days ({object_lock_days})",
            )
        problems.check(
            FeatureFlags.of(self).is_enabled(LOGS_BY_BUCKET_POLICY) is True,
            f"the app must set the CDK feature flag {LOGS_BY_BUCKET_POLICY} (cdk.json): access logs are "
            "delivered under a bucket policy, never a LogDeliveryWrite ACL",
        )
        problems.raise_if_any()
        self.object_lock_days = object_lock_days

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
                    # Current logs turn noncurrent after access_log_days, then stay recoverable for the
                    # lock period: no record is destroyed before object_lock_days.
                    expiration=Duration.days(access_log_days),
                    noncurrent_version_expiration=Duration.days(object_lock_days),
                    abort_incomplete_multipart_upload_after=Duration.days(incomplete_upload_days),
                )
            ],
            **secure,
        )
        if existing_logging_bucket is None:
            # No Object Lock here: S3 does not deliver server access logs to a bucket with Object Lock.
            # Refusing version deletes to every principal is the next best thing; undoing it takes a
            # bucket-policy change, which CloudTrail records.
            self.access_logs_bucket.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AccessLogsAreEvidenceNoVersionIsDeleted",
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=["s3:DeleteObjectVersion"],
                    resources=[self.access_logs_bucket.arn_for_objects("*")],
                )
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
                    # The files as received are evidence: kept unaltered for the lock period. Uploads
                    # must carry a checksum (Content-MD5 or x-amz-checksum-*), as Object Lock requires.
                    "object_lock_enabled": True,
                    "object_lock_default_retention": s3.ObjectLockRetention.governance(
                        Duration.days(object_lock_days)
                    ),
                },
            ),
        )
