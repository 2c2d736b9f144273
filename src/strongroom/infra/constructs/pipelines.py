"""One Region's two pipelines: batch ingestion (S3 → SQS → ingest function) and the transactional outbox
(the transactions table's change stream → publisher function → Kinesis).

**Ingestion.** Upload files under ``incoming/`` of the Region's ingest bucket. S3 notifies the ingest
queue of every object created under that prefix, and of nothing else: the ingest function writes its
rejects to ``rejects/<key>.jsonl`` in the same bucket, and S3 filters notifications by key prefix and
suffix only, so the uploads have a prefix of their own and rejects can never re-trigger ingestion.
The queue and its dead-letter queue are encrypted with the Region's pipeline key and refuse anything
but TLS; only this bucket, in this account, may send to the queue. An event source mapping delivers
messages in small batches with batch item failures: a message that fails is received again, alone,
and after ``max_receives`` receives SQS moves it to the dead-letter queue. The queue's visibility
timeout is six times the function's timeout plus the batching window (the Lambda developer guide's
advice for SQS event sources), so a message is never received twice while a slow invocation still
holds it.

**Outbox.** The publisher reads its own Region's replica stream of the transactions table (its ARN is a
deploy-time parameter of the platform stack: docs/adr/0033-pipeline-infrastructure.md), only the
records of transactions (``TRANSACTION_RECORDS_FILTER``: deep-health canary writes never invoke it),
from the oldest record still in the stream, and puts events on the Region's on-demand Kinesis stream,
encrypted with the pipeline key. A failing batch is bisected and retried; records still failing after
``publisher_retries`` retries, or older than ``publisher_max_record_age``, are reported to the
publisher's dead-letter queue (the batch's stream coordinates, not the records: they stay in the
table's stream for 24 hours, and in the table).

Each function has its own role with what its code calls (``network_statements``, carried by the VPC's
endpoints) and what Lambda does for it outside the VPC (polling the queue or the stream, sending a
failed batch's coordinates to the dead-letter queue).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesis as kinesis
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from strongroom import constants as env
from strongroom.infra.constructs._props import Problems
from strongroom.infra.constructs.function import Powertools, SecureFunction
from strongroom.runtime.adapters.files import INGEST_PREFIX
from strongroom.runtime.adapters.schema import TRANSACTION_RECORDS_FILTER
from strongroom.runtime.publisher import DEFAULT_MAX_ATTEMPTS as PUBLISHER_MAX_ATTEMPTS

INCOMING_PREFIX = INGEST_PREFIX  # uploads: the only keys that notify the ingest queue (runtime's own)
REJECTS_PREFIX = "rejects/"  # the ingest function's rejects, rejects/<key>.jsonl
INGEST_HANDLER = "strongroom.runtime.ingest.handler"
PUBLISHER_HANDLER = "strongroom.runtime.publisher.handler"
# The Lambda developer guide: a source queue's visibility timeout at least six times the function's
# timeout (plus the batching window), so retries of throttled invocations do not see the message again.
VISIBILITY_TIMEOUT_FACTOR = 6
# The table's replica stream keeps records 24 hours: the outbox stream keeps events as long. Consumers
# that fall further behind re-read the table, the source of truth; longer retention is billed per GB.
EVENT_STREAM_RETENTION_HOURS = 24
DLQ_RETENTION = Duration.days(14)  # SQS's maximum: time to investigate and redrive


@dataclass(frozen=True, slots=True)
class PipelineSizing:
    """Functions and event source mappings, explicit so cost and blast radius are reviewed."""

    ingest_memory_mb: int = 1024
    # A file is read, checked and written in one invocation; one that outlasts it continues in a
    # message to the queue (the function keeps a margin of its timeout for that).
    ingest_timeout_seconds: int = 300
    ingest_reserved_concurrency: int = 10
    ingest_batch_size: int = 5  # files per invocation
    ingest_batching_window_seconds: int = 5
    publisher_memory_mb: int = 512
    publisher_timeout_seconds: int = 60
    # One concurrent batch per stream shard (parallelization factor 1 keeps each item's changes in order).
    publisher_reserved_concurrency: int = 10
    publisher_batch_size: int = 100
    publisher_batching_window_seconds: int = 1
    publisher_retries: int = 5
    publisher_max_record_age_seconds: int = 6 * 3600  # leaves 18 of the stream's 24 hours to redrive


@dataclass(frozen=True, slots=True)
class PipelineNames:
    """Physical names (``ResourceNames`` derives them from the prefix and the Region)."""

    ingest_function: str
    publisher_function: str
    ingest_queue: str
    ingest_dlq: str
    publisher_dlq: str
    event_stream: str
    transactions_table: str
    audit_table: str


class Pipelines(Construct):
    """Attributes: ``queue``, ``dead_letter_queue`` (the ingest queue's), ``event_stream``,
    ``publisher_dead_letter_queue``, ``ingest`` and ``publisher`` (:class:`SecureFunction`),
    ``ingest_events`` and ``publisher_events`` (the event source mappings).

    ``bucket_name`` is the ingest bucket's name as a string that does not reference the bucket: the
    queue's policy must exist before the bucket's notification configuration (S3 checks it can send),
    so it cannot reference the bucket. ``transactions_stream_arn`` is this Region's replica stream of
    the transactions table. ``data_key`` encrypts the functions' environments (and the table's stream);
    ``pipeline_key`` the queues, the bucket and the event stream. ``ingest_environment`` adds to what the
    ingest function is told (its tables and queue are set here). ``code_signing_config`` is the
    signer both functions' code must satisfy; each event source mapping invokes its function's ``live``
    alias (docs/adr/0039-signed-code-and-canary-releases.md).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: PipelineNames,
        bucket: s3.Bucket,
        bucket_name: str,
        transactions_stream_arn: str,
        code: lambda_.Code,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        security_group: ec2.ISecurityGroup,
        pipeline_key: kms.IKey,
        data_key: kms.IKey,
        logs_key: kms.IKey,
        log_retention_days: int,
        metrics_namespace: str,
        max_receives: int,
        ingest_environment: Mapping[str, str] | None = None,
        sizing: PipelineSizing | None = None,
        code_signing_config: lambda_.ICodeSigningConfig | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        size = self.sizing = sizing or PipelineSizing()
        problems = Problems("Pipelines")
        problems.check(1 <= max_receives <= 1000, f"max_receives {max_receives} is outside 1..1000")
        problems.check(
            1 <= size.ingest_batch_size <= 10, "ingest_batch_size must be 1..10 (SQS receives at most 10)"
        )
        problems.check(
            0 <= size.publisher_retries <= 10000, "publisher_retries must be 0..10000 (Lambda's range)"
        )
        problems.check(
            60 <= size.publisher_max_record_age_seconds <= 86400,
            "publisher_max_record_age_seconds must be 60..86400: the table's stream keeps records 24 hours",
        )
        problems.raise_if_any()
        stack = Stack.of(self)
        region = stack.region
        visibility = (
            VISIBILITY_TIMEOUT_FACTOR * size.ingest_timeout_seconds + size.ingest_batching_window_seconds
        )

        # --- ingestion: bucket → queue ---------------------------------------------------------------
        # Only the ingest queue may redrive into its dead-letter queue (named, not referenced: the
        # queue already references the DLQ), and nothing may redrive into the publisher's, which is a
        # failure destination: `strongroom redrive` replays both through their own paths.
        ingest_queue_arn = stack.format_arn(service="sqs", resource=names.ingest_queue)
        self.dead_letter_queue = self._queue(
            "IngestDeadLetters",
            names.ingest_dlq,
            pipeline_key,
            sqs.RedriveAllowPolicy(
                redrive_permission=sqs.RedrivePermission.BY_QUEUE,
                source_queues=[sqs.Queue.from_queue_arn(self, "IngestSource", ingest_queue_arn)],
            ),
        )
        self.queue = sqs.Queue(
            self,
            "IngestQueue",
            queue_name=names.ingest_queue,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=pipeline_key,
            data_key_reuse=Duration.hours(1),
            enforce_ssl=True,
            visibility_timeout=Duration.seconds(visibility),
            retention_period=Duration.days(4),
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=max_receives, queue=self.dead_letter_queue
            ),
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyTheIngestBucketNotifies",
                principals=[iam.ServicePrincipal("s3.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.queue.queue_arn],
                conditions={
                    "ArnEquals": {"aws:SourceArn": f"arn:{stack.partition}:s3:::{bucket_name}"},
                    "StringEquals": {"aws:SourceAccount": stack.account},
                },
            )
        )
        self._notify(bucket, self.queue)

        # --- the outbox: the Region's event stream ---------------------------------------------------
        self.event_stream = kinesis.Stream(
            self,
            "EventStream",
            stream_name=names.event_stream,
            stream_mode=kinesis.StreamMode.ON_DEMAND,
            encryption=kinesis.StreamEncryption.KMS,
            encryption_key=pipeline_key,
            retention_period=Duration.hours(EVENT_STREAM_RETENTION_HOURS),
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.publisher_dead_letter_queue = self._queue(
            "PublisherDeadLetters",
            names.publisher_dlq,
            pipeline_key,
            sqs.RedriveAllowPolicy(redrive_permission=sqs.RedrivePermission.DENY_ALL),
        )

        table_arn = stack.format_arn(
            service="dynamodb", resource="table", resource_name=names.transactions_table
        )
        audit_arn = stack.format_arn(service="dynamodb", resource="table", resource_name=names.audit_table)

        def through(service: str) -> dict[str, dict[str, str]]:
            return {"StringEquals": {"kms:ViaService": f"{service}.{region}.amazonaws.com"}}

        self.ingest = SecureFunction(
            self,
            "IngestFunction",
            function_name=names.ingest_function,
            handler=INGEST_HANDLER,
            description="Strongroom batch ingestion: files in the ingest bucket become transactions",
            memory_mb=size.ingest_memory_mb,
            timeout_seconds=size.ingest_timeout_seconds,
            reserved_concurrency=size.ingest_reserved_concurrency,
            powertools=Powertools(service_name=names.ingest_function, metrics_namespace=metrics_namespace),
            statements=[
                iam.PolicyStatement(
                    sid="ReadUploadedFiles",
                    actions=["s3:GetObject", "s3:GetObjectVersion"],
                    resources=[bucket.arn_for_objects(f"{INCOMING_PREFIX}*")],
                ),
                # Rejects are written in chunks (one per invocation), then combined (read, copied,
                # multipart-uploaded) into rejects/<key>.jsonl, and the chunks deleted.
                iam.PolicyStatement(
                    sid="WriteRejects",
                    actions=[
                        "s3:GetObject",
                        "s3:PutObject",
                        "s3:DeleteObject",
                        "s3:AbortMultipartUpload",
                        "s3:ListMultipartUploadParts",
                    ],
                    resources=[bucket.arn_for_objects(f"{REJECTS_PREFIX}*")],
                ),
                iam.PolicyStatement(
                    sid="FilesThroughS3WithThePipelineKey",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[pipeline_key.key_arn],
                    conditions=through("s3"),
                ),
                iam.PolicyStatement(
                    sid="ContinueLongFilesOnTheQueue",
                    actions=["sqs:SendMessage"],
                    resources=[self.queue.queue_arn],
                ),
                iam.PolicyStatement(
                    sid="CreateTransactions",
                    actions=[
                        "dynamodb:BatchGetItem",
                        "dynamodb:BatchWriteItem",
                        "dynamodb:GetItem",
                        "dynamodb:PutItem",
                    ],
                    resources=[table_arn],
                ),
                iam.PolicyStatement(
                    sid="RecordEachFilesAudit",
                    actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
                    resources=[audit_arn],
                ),
            ],
            service_statements=[
                iam.PolicyStatement(
                    sid="LambdaPollsTheIngestQueue",
                    actions=[
                        "sqs:ReceiveMessage",
                        "sqs:DeleteMessage",
                        "sqs:ChangeMessageVisibility",
                        "sqs:GetQueueAttributes",
                    ],
                    resources=[self.queue.queue_arn],
                ),
                iam.PolicyStatement(
                    sid="MessagesThroughSqsWithThePipelineKey",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[pipeline_key.key_arn],
                    conditions=through("sqs"),
                ),
            ],
            environment={**(ingest_environment or {}), **self._ingest_environment(names)},
            code=code,
            vpc=vpc,
            subnets=subnets,
            security_group=security_group,
            logs_key=logs_key,
            log_retention_days=log_retention_days,
            environment_key=data_key,
            code_signing_config=code_signing_config,
        )
        self.ingest_events = lambda_.EventSourceMapping(
            self,
            "IngestEvents",
            target=self.ingest.invoke_target,  # the live alias: CodeDeploy moves it between versions
            event_source_arn=self.queue.queue_arn,
            batch_size=size.ingest_batch_size,
            max_batching_window=Duration.seconds(size.ingest_batching_window_seconds),
            report_batch_item_failures=True,
            # Never more pollers than the function may run: the rest would be throttled, and a throttled
            # message still counts a receive towards the dead-letter queue.
            max_concurrency=max(2, size.ingest_reserved_concurrency),
        )

        self.publisher = SecureFunction(
            self,
            "PublisherFunction",
            function_name=names.publisher_function,
            handler=PUBLISHER_HANDLER,
            description="Strongroom outbox: transaction changes onto the Region's event stream",
            memory_mb=size.publisher_memory_mb,
            timeout_seconds=size.publisher_timeout_seconds,
            reserved_concurrency=size.publisher_reserved_concurrency,
            powertools=Powertools(service_name=names.publisher_function, metrics_namespace=metrics_namespace),
            statements=[
                iam.PolicyStatement(
                    sid="PublishEvents",
                    actions=["kinesis:PutRecords"],
                    resources=[self.event_stream.stream_arn],
                ),
                iam.PolicyStatement(
                    sid="EventsThroughKinesisWithThePipelineKey",
                    actions=["kms:GenerateDataKey"],
                    resources=[pipeline_key.key_arn],
                    conditions=through("kinesis"),
                ),
            ],
            service_statements=[
                iam.PolicyStatement(
                    sid="LambdaReadsTheTransactionsStream",
                    actions=["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"],
                    resources=[transactions_stream_arn],
                ),
                # ListStreams has no resource type: IAM authorizes it on "*" only
                # (policies/resource-wildcards.json).
                iam.PolicyStatement(
                    sid="LambdaListsStreams", actions=["dynamodb:ListStreams"], resources=["*"]
                ),
                iam.PolicyStatement(
                    sid="StreamRecordsThroughDynamoDbWithTheDataKey",
                    actions=["kms:Decrypt"],
                    resources=[data_key.key_arn],
                    conditions=through("dynamodb"),
                ),
                iam.PolicyStatement(
                    sid="LambdaReportsFailedBatches",
                    actions=["sqs:SendMessage"],
                    resources=[self.publisher_dead_letter_queue.queue_arn],
                ),
                iam.PolicyStatement(
                    sid="FailedBatchesThroughSqsWithThePipelineKey",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[pipeline_key.key_arn],
                    conditions=through("sqs"),
                ),
            ],
            environment=self._publisher_environment(),
            code=code,
            vpc=vpc,
            subnets=subnets,
            security_group=security_group,
            logs_key=logs_key,
            log_retention_days=log_retention_days,
            environment_key=data_key,
            code_signing_config=code_signing_config,
        )
        self.publisher_events = lambda_.EventSourceMapping(
            self,
            "PublisherEvents",
            target=self.publisher.invoke_target,
            event_source_arn=transactions_stream_arn,
            # The oldest record still in the stream: a mapping created (or re-created) after writes
            # began still publishes them. Consumers are idempotent (the event id), so a replay is safe;
            # LATEST would silently skip every change made before the mapping existed.
            starting_position=lambda_.StartingPosition.TRIM_HORIZON,
            batch_size=size.publisher_batch_size,
            max_batching_window=Duration.seconds(size.publisher_batching_window_seconds),
            bisect_batch_on_error=True,
            retry_attempts=size.publisher_retries,
            max_record_age=Duration.seconds(size.publisher_max_record_age_seconds),
            report_batch_item_failures=True,
            parallelization_factor=1,
            filters=[{"pattern": json.dumps(TRANSACTION_RECORDS_FILTER, separators=(",", ":"))}],
            on_failure=sources.SqsDlq(self.publisher_dead_letter_queue),
        )

    def _ingest_environment(self, names: PipelineNames) -> dict[str, str]:
        return {
            env.ENV_TRANSACTIONS_TABLE: names.transactions_table,
            env.ENV_AUDIT_TABLE: names.audit_table,
            env.ENV_INGEST_QUEUE_URL: self.queue.queue_url,
        }

    def _publisher_environment(self) -> dict[str, str]:
        return {
            env.ENV_OUTBOX_STREAM: self.event_stream.stream_arn,
            # The runtime's own default, stated so the deployed setting is visible and reviewed.
            env.ENV_PUBLISHER_MAX_ATTEMPTS: str(PUBLISHER_MAX_ATTEMPTS),
        }

    def _queue(
        self, construct_id: str, name: str, key: kms.IKey, redrive_allow: sqs.RedriveAllowPolicy
    ) -> sqs.Queue:
        return sqs.Queue(
            self,
            construct_id,
            queue_name=name,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            data_key_reuse=Duration.hours(1),
            enforce_ssl=True,
            retention_period=DLQ_RETENTION,
            removal_policy=RemovalPolicy.RETAIN,
            redrive_allow_policy=redrive_allow,
        )

    @staticmethod
    def _notify(bucket: s3.Bucket, queue: sqs.Queue) -> None:
        """The bucket's notification configuration, on the bucket itself: CDK's
        ``add_event_notification`` would manage it with a custom-resource function outside the VPC."""
        cfn_bucket = cast(s3.CfnBucket, bucket.node.default_child)
        cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
            queue_configurations=[
                s3.CfnBucket.QueueConfigurationProperty(
                    event="s3:ObjectCreated:*",
                    queue=queue.queue_arn,
                    filter=s3.CfnBucket.NotificationFilterProperty(
                        s3_key=s3.CfnBucket.S3KeyFilterProperty(
                            rules=[s3.CfnBucket.FilterRuleProperty(name="prefix", value=INCOMING_PREFIX)]
                        )
                    ),
                )
            ]
        )
        # S3 sends a test message when the configuration is set: the queue's policy must allow it first.
        policy = queue.node.try_find_child("Policy")
        if isinstance(policy, sqs.QueuePolicy):
            cfn_bucket.add_resource_dependency(cast(sqs.CfnQueuePolicy, policy.node.default_child))
