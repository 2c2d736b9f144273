"""One Region's platform: network, ingest bucket, the ingestion and outbox pipelines, API function,
API + WAF, observability — and, in the primary Region only, the cursor secret's rotation (the function
needs the primary's network). Every function runs only code the Region's signer signed, and is released
by CodeDeploy: a canary on its ``live`` alias, smoke-tested by a hook, rolled back on an alarm
(docs/adr/0039-signed-code-and-canary-releases.md).

Built from the configuration, the same way for every Region (multi-Region is data, not copy-paste).
Keys come from the Region's key stack; a key in another Region is named by its alias ARN, which
is known before anything is deployed (CDK's cross-stack references stop at a Region's border, and
`Fn::GetStackOutput`, which crosses it, is a weak reference resolved at deploy time: a name derived
from the configuration needs neither). The global tables and the cursor secret live in the global
data stack (strongroom.infra.stacks.data) and are named here the same way, by configured name.
"""

from __future__ import annotations

from typing import cast

from aws_cdk import ArnFormat, CfnParameter, CfnResource, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_s3 as s3
from constructs import Construct

from strongroom import constants as env
from strongroom.config import PlatformConfig, RegionConfig, ResourceNames
from strongroom.infra.constructs import (
    ApiDomain,
    IngestBucket,
    MonitoredFunction,
    MonitoredTable,
    Observability,
    Powertools,
    PrivateNetwork,
    SecureFunction,
    TransactionApi,
)
from strongroom.infra.constructs.delivery import (
    CanaryRelease,
    HookRuntime,
    deployment_group_arn,
    release_config,
    release_hook,
)
from strongroom.infra.constructs.experiments import ApiRoute, FaultInjection, LambdaFaultExtension
from strongroom.infra.constructs.observability import DeepHealthMetric, MonitoredQueue
from strongroom.infra.constructs.pipelines import INCOMING_PREFIX, PipelineNames, Pipelines
from strongroom.infra.constructs.resilience_hub import AppResource, ResilienceHubApplication
from strongroom.infra.constructs.secret import ROTATION_TIMEOUT_SECONDS, RotatedSecret
from strongroom.infra.packaging import LambdaBundle
from strongroom.infra.signed_bundle import SignedBundle, signed_bundle_for
from strongroom.infra.stacks._base import StrongroomStack, named_output
from strongroom.infra.stacks.artifacts import ArtifactsStack
from strongroom.infra.stacks.data import cursor_secret_name
from strongroom.infra.stacks.keys import KeyStack
from strongroom.runtime.adapters.kms import CANARY_CONTEXT
from strongroom.runtime.observability import NAMESPACE, SERVICE
from strongroom.runtime.openapi import document
from strongroom.runtime.routes import OPERATIONS

# Every AWS service the functions' code calls from inside the VPC, other than S3 and DynamoDB
# (gateway endpoints, created on use). tests/functional/infra derives this from the IAM actions.
# SQS: the ingest function's continuations; Kinesis: the publisher's events; Lambda and CodeDeploy: the
# release hooks' smoke invocations and their reports (docs/adr/0039).
API_INTERFACE_SERVICES = ("codedeploy", "kinesis", "kms", "lambda", "secretsmanager", "sqs", "xray")
API_HANDLER = "strongroom.runtime.api.handler"
ROTATION_HANDLER = "strongroom.runtime.rotation.handler"
DOMAIN_CONTEXT = "strongroom:api-domain"
CERTIFICATE_CONTEXT = "strongroom:api-certificate"
# Outputs the routing stack reads in us-east-1 with Fn::GetStackOutput (docs/adr/0027): the host its
# health check probes, and (with a hosted zone configured) what the DNS name's record points at.
API_HOST_OUTPUT = "ApiHost"
API_URL_OUTPUT = "ApiUrl"  # what signed callers and `strongroom drill --target aws` call
DNS_TARGET_OUTPUT = "DnsNameTarget"
# This Region's replica stream of the transactions table, given at deploy time (docs/adr/0033).
TRANSACTIONS_STREAM_PARAMETER = "TransactionsStreamArn"
# What the drills and tools read: where files go, the queues to redrive, the event stream.
PIPELINE_OUTPUTS = ("IngestBucket", "IngestQueueUrl", "IngestDlqUrl", "EventStream", "PublisherDlqUrl")


def name_workload_role(function: SecureFunction, names: ResourceNames, region: str, purpose: str) -> None:
    """Name the function's role ``names.workload_role(region, purpose)``: the Region's data key lets
    only roles so named use it directly, e.g. to decrypt a function's environment (docs/adr/0020)."""
    cast(iam.CfnRole, function.role.node.default_child).role_name = names.workload_role(region, purpose)


def key_alias_arn(stack: Stack, alias: str, region: str) -> str:
    return stack.format_arn(service="kms", region=region, resource=alias)


class RegionalStack(StrongroomStack):
    """Attributes: ``network``, ``ingest``, ``api_function``, ``api``, ``observability``,
    ``cursor_secret_rotation`` (the :class:`RotatedSecret` in the primary Region, else None),
    ``region_config``, ``health_path`` (deep health's path on the ``ApiHost`` output's host),
    ``dns_name`` (the custom domain ``<label>.<domain>`` when a hosted zone is configured, else None),
    ``code_signing`` (the code-signing configuration every function has), ``signed_bundle`` (where the
    functions' code comes from, or None for the local, unsigned asset) and ``releases`` (label →
    :class:`CanaryRelease`)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PlatformConfig,
        region: RegionConfig,
        keys: KeyStack,
        artifacts: ArtifactsStack,
        bundle: LambdaBundle,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            region=region.name,
            description=f"Strongroom platform ({region.name}, {config.consistency} consistency)",
        )
        self.region_config = region
        names = config.names
        self.primary_region = config.primary_region.name
        is_primary = region.name == self.primary_region
        data_key = kms.Key.from_key_arn(self, "DataKey", keys.keys.key("data").key_arn)
        logs_key = kms.Key.from_key_arn(self, "LogsKey", keys.keys.key("logs").key_arn)
        pipeline_key = kms.Key.from_key_arn(self, "PipelineKey", keys.keys.key("pipeline").key_arn)
        retention_days = config.retention.log_days
        # Lambda refuses code that the Region's signer did not sign (Enforce): the code must be the
        # signed bundle, named by context at deploy time (docs/adr/0039).
        self.code_signing = lambda_.CodeSigningConfig(
            self,
            "CodeSigning",
            signing_profiles=[artifacts.store.signing_profile],
            untrusted_artifact_on_deployment=lambda_.UntrustedArtifactOnDeployment.ENFORCE,
            description=f"Strongroom functions in {region.name}: code signed by the Region's signer only",
        )
        self.signed_bundle = signed_bundle_for(region.name, self.node.try_get_context)
        code = self._code(bundle)

        self.network = PrivateNetwork(
            self,
            "Network",
            region=region,
            logs_key=logs_key,
            log_retention_days=retention_days,
            interface_services=API_INTERFACE_SERVICES,
            log_group_prefix=names.log_group("network"),
            organization_id=config.security.organization_id,
        )
        # Named (with the account, as bucket names are global): the queue's policy names it before it exists.
        ingest_bucket_name = f"{names.ingest_bucket(region.name)}-{self.account}"
        self.ingest = IngestBucket(
            self,
            "Ingest",
            key=pipeline_key,
            object_lock_days=config.security.object_lock_days,
            bucket_name=ingest_bucket_name,
        )
        self.pipelines = self._pipelines(config, ingest_bucket_name, pipeline_key, data_key, logs_key, code)

        self.cursor_secret_rotation = (
            self._cursor_secret_rotation(config, data_key, logs_key, code) if is_primary else None
        )
        secret_name = cursor_secret_name(names)
        table_arn = self.format_arn(
            service="dynamodb", resource="table", resource_name=names.transactions_table
        )
        statements = [
            iam.PolicyStatement(
                sid="CreateAndReadTransactions",
                actions=["dynamodb:PutItem", "dynamodb:GetItem"],
                resources=[table_arn],
            ),
            iam.PolicyStatement(
                sid="ListCustomerTransactions",
                actions=["dynamodb:Query"],
                resources=[f"{table_arn}/index/{names.customer_index}"],
            ),
            iam.PolicyStatement(
                sid="HealthCanaryWithTheDataKey",
                actions=["kms:Encrypt", "kms:Decrypt"],
                resources=[data_key.key_arn],
                conditions={
                    "StringEquals": {f"kms:EncryptionContext:{k}": v for k, v in CANARY_CONTEXT.items()}
                },
            ),
            iam.PolicyStatement(
                sid="ReadCursorSecret",
                actions=["secretsmanager:GetSecretValue"],
                # Secrets Manager appends six random characters to a secret's name in its ARN.
                resources=[
                    self.format_arn(
                        service="secretsmanager",
                        resource="secret",
                        resource_name=f"{secret_name}-??????",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                ],
            ),
            iam.PolicyStatement(
                sid="DecryptCursorSecret",
                actions=["kms:Decrypt"],
                resources=[data_key.key_arn],
                conditions={
                    "StringEquals": {"kms:ViaService": f"secretsmanager.{region.name}.amazonaws.com"}
                },
            ),
            # GET /files: the uploads (never the rejects) and each file's audit status.
            iam.PolicyStatement(
                sid="ListUploadedFiles",
                actions=["s3:ListBucket"],
                resources=[self.ingest.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{INCOMING_PREFIX}*"]}},
            ),
            iam.PolicyStatement(
                sid="ReadFileAuditStatus",
                actions=["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"],
                resources=[
                    self.format_arn(service="dynamodb", resource="table", resource_name=names.audit_table)
                ],
            ),
        ]
        limits = config.api_function
        powertools = Powertools(service_name=SERVICE, metrics_namespace=NAMESPACE)
        # The FIS Lambda extension sits in the API's invocation path: only when asked for (docs/adr/0028).
        extension = self.fault_extension = (
            LambdaFaultExtension(
                self,
                "LambdaFaultExtension",
                key=pipeline_key,
                access_logs_bucket=self.ingest.access_logs_bucket,
            )
            if config.fault_injection.lambda_extension
            else None
        )
        self.api_function = SecureFunction(
            self,
            "ApiFunction",
            function_name=f"{names.prefix}-api",
            handler=API_HANDLER,
            code=code,
            code_signing_config=self.code_signing,
            description="Strongroom transactions API",
            vpc=self.network.vpc,
            subnets=self.network.subnets,
            security_group=self.network.function_security_group,
            memory_mb=limits.memory_mb,
            timeout_seconds=limits.timeout_seconds,
            reserved_concurrency=limits.reserved_concurrency,
            logs_key=logs_key,
            log_retention_days=retention_days,
            environment_key=data_key,
            powertools=powertools,
            statements=[*statements, *(extension.reader_statements if extension else [])],
            environment={
                **config.function_environment(),
                env.ENV_TRANSACTIONS_TABLE: names.transactions_table,
                env.ENV_DATA_KEY_ID: data_key.key_arn,
                env.ENV_CURSOR_SECRET_ID: secret_name,
                env.ENV_INGEST_BUCKET: self.ingest.bucket.bucket_name,
                env.ENV_AUDIT_TABLE: names.audit_table,
                **(extension.environment if extension else {}),
            },
            function_props={"layers": extension.layers} if extension else None,
        )
        name_workload_role(self.api_function, names, region.name, "api")
        # The endpoints carry what the functions call, nothing else (docs/adr/0016).
        self.network.allow_through_endpoints(self.api_function.network_statements)

        custom_domain = self._api_domain(region.name)
        self.api = TransactionApi(
            self,
            "Api",
            api_name=f"{names.prefix}-api",
            handler=self.api_function.invoke_target,  # the live alias: integration and permission
            operations=OPERATIONS,
            models={
                name: schema
                for name, schema in document()["components"]["schemas"].items()
                if any(op.request == name for op in OPERATIONS)
            },
            logs_key=logs_key,
            log_retention_days=retention_days,
            access_log_group_name=names.log_group("api/access-logs"),
            throttle_rate_per_second=config.api.throttle_rate_per_second,
            throttle_burst=config.api.throttle_burst,
            health_throttle_rate_per_second=config.api.health_throttle_rate_per_second,
            health_throttle_burst=config.api.health_throttle_burst,
            max_body_bytes=config.api.max_body_bytes,
            waf_requests_per_ip_per_5min=config.api.waf_requests_per_ip_per_5min,
            waf_hosting_provider_action=config.security.waf_anonymous_ip_action,
            problem_type_base=config.problem_type_base,
            domain=custom_domain,
        )
        self._routing_outputs(config, custom_domain)

        peers = tuple(r.name for r in config.regions if r.name != region.name)
        self.observability = Observability(
            self,
            "Observability",
            alarm_prefix=f"{names.prefix}-{region.name}",
            topic_key=logs_key,
            thresholds=config.alarms,
            functions=[
                MonitoredFunction(
                    "api", self.api_function.function, limits.timeout_seconds, alias=self.api_function.alias
                ),
                *self._pipeline_monitors(),
                *self._rotation_monitors(),
            ],
            dead_letter_queues=[
                MonitoredQueue("ingest", self.pipelines.dead_letter_queue),
                MonitoredQueue("publisher", self.pipelines.publisher_dead_letter_queue),
            ],
            api=self.api.rest_api,
            tables=[
                MonitoredTable(
                    "transactions",
                    names.transactions_table,
                    peers if config.consistency == "eventual" else (),
                ),
                MonitoredTable("audit", names.audit_table, peers),
            ],
            # The alarm watches the namespace and service dimension the function publishes under.
            deep_health=DeepHealthMetric(powertools.metrics_namespace, powertools.service_name),
            alarm_email=config.security.alarm_email,
            external_topic_arn=config.security.alarm_topic_arn_in(region.name),
            quotas=config.quotas,
        )
        rotation = self.cursor_secret_rotation
        if rotation is not None:
            # The first rotation runs when the schedule is created and writes the rotated format:
            # this Region's API function must read it by then. (Another Region's API deployed later
            # reads whichever format is current: both are understood once this API is.)
            rotation.rotate_after(self.api_function.invoke_target)
            rotation.alarm_on_failure(self.observability.topic, f"{names.prefix}-{region.name}")
            if rotation.failure_alarm is not None:  # to the external topic and the dashboard too
                self.observability.watch(rotation.failure_alarm, "Cursor secret rotation")
        self.releases = self._releases(config, code, data_key, logs_key)
        self._drills_and_resilience_hub(config, logs_key, peers)

    def _code(self, bundle: LambdaBundle) -> lambda_.Code:
        """The signed bundle named by context, else the local asset (which Lambda refuses under the
        code-signing configuration: synth says so, docs/adr/0039)."""
        signed: SignedBundle | None = self.signed_bundle
        if signed is None:
            return bundle.code()
        bucket = s3.Bucket.from_bucket_name(self, "SignedBundleBucket", signed.bucket)
        return lambda_.Code.from_bucket(bucket, signed.key, signed.version)

    def _rotation_monitors(self) -> list[MonitoredFunction]:
        rotation = self.cursor_secret_rotation
        if rotation is None:
            return []
        function = rotation.rotation
        return [
            MonitoredFunction("rotation", function.function, ROTATION_TIMEOUT_SECONDS, alias=function.alias)
        ]

    def _releases(
        self, config: PlatformConfig, code: lambda_.Code, data_key: kms.IKey, logs_key: kms.IKey
    ) -> dict[str, CanaryRelease]:
        """One CodeDeploy deployment group per function (docs/adr/0039): the configured canary, the
        function's release alarms (and the API's 5xx rate for the API), rollback on an alarm or a
        failure, and a smoke hook before and after the traffic moves; the rotation function has no
        smoke request that would not rotate the secret, so its alarms alone judge a release."""
        names, region = config.names, self.region_config.name
        application = f"{names.prefix}-{region}"
        app = codedeploy.LambdaApplication(self, "Releases", application_name=application)
        deployment_config = release_config(
            self,
            config.deployment,
            f"{names.prefix}-canary-{config.deployment.canary_percent}pct-{config.deployment.canary_minutes}min",
        )
        runtime = HookRuntime(
            code=code,
            code_signing_config=self.code_signing,
            vpc=self.network.vpc,
            subnets=self.network.subnets,
            security_group=self.network.function_security_group,
            logs_key=logs_key,
            log_retention_days=config.retention.log_days,
            environment_key=data_key,
            metrics_namespace=NAMESPACE,
        )
        alarms = self.observability.release_alarms
        api_5xx = self.observability.alarms[f"{names.prefix}-{region}-api-5xx-rate"]
        targets: list[tuple[str, SecureFunction, str | None, list[cloudwatch.IAlarm]]] = [
            ("api", self.api_function, "api", [*alarms["api"], api_5xx]),
            ("ingest", self.pipelines.ingest, "batch", list(alarms["ingest"])),
            ("publisher", self.pipelines.publisher, "batch", list(alarms["publisher"])),
        ]
        if self.cursor_secret_rotation is not None:
            targets.append(("rotation", self.cursor_secret_rotation.rotation, None, list(alarms["rotation"])))
        releases: dict[str, CanaryRelease] = {}
        for label, function, smoke, watched in targets:
            group = f"{names.prefix}-{label}"
            hook = None
            if smoke is not None:
                hook = release_hook(
                    self,
                    f"{label.title()}ReleaseHook",
                    runtime=runtime,
                    function_name=f"{names.prefix}-{label}-release-hook",
                    target=function,
                    smoke=smoke,
                    deployment_group=deployment_group_arn(self, application, group),
                )
                name_workload_role(hook, names, region, f"{label}-release-hook")
                self.network.allow_through_endpoints(hook.network_statements)
            releases[label] = CanaryRelease(
                self,
                f"{label.title()}Release",
                function=function,
                application=app,
                group_name=group,
                deployment_config=deployment_config,
                alarms=watched,
                hook=hook,
            )
        return releases

    def _pipelines(  # noqa: PLR0917 - the stack's keys and bundle, as its other parts take them
        self,
        config: PlatformConfig,
        bucket_name: str,
        pipeline_key: kms.IKey,
        data_key: kms.IKey,
        logs_key: kms.IKey,
        code: lambda_.Code,
    ) -> Pipelines:
        """Ingestion and the outbox (docs/adr/0033-pipeline-infrastructure.md), their roles named for the
        Region's keys, their calls carried by the endpoints, and the outputs the drills and tools read."""
        names, region = config.names, self.region_config.name
        stream_arn = CfnParameter(
            self,
            TRANSACTIONS_STREAM_PARAMETER,
            type="String",
            allowed_pattern=(
                rf"^arn:aws[a-z-]*:dynamodb:{region}:[0-9]{{12}}:table/{names.transactions_table}/stream/"
                r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}$"
            ),
            description=(
                f"The stream of {names.transactions_table} in {region} (the publisher reads it): "
                f"aws dynamodb describe-table --region {region} --table-name {names.transactions_table} "
                "--query Table.LatestStreamArn --output text"
            ),
        )
        stream_arn.override_logical_id(TRANSACTIONS_STREAM_PARAMETER)
        pipelines = Pipelines(
            self,
            "Pipelines",
            names=PipelineNames(
                ingest_function=f"{names.prefix}-ingest",
                publisher_function=f"{names.prefix}-publisher",
                ingest_queue=names.ingest_queue(region),
                ingest_dlq=names.ingest_dlq(region),
                publisher_dlq=names.publisher_dlq(region),
                event_stream=names.event_stream(region),
                transactions_table=names.transactions_table,
                audit_table=names.audit_table,
            ),
            bucket=self.ingest.bucket,
            bucket_name=bucket_name,
            transactions_stream_arn=stream_arn.value_as_string,
            code=code,
            code_signing_config=self.code_signing,
            vpc=self.network.vpc,
            subnets=self.network.subnets,
            security_group=self.network.function_security_group,
            pipeline_key=pipeline_key,
            data_key=data_key,
            logs_key=logs_key,
            log_retention_days=config.retention.log_days,
            metrics_namespace=NAMESPACE,
            max_receives=config.pipeline.ingest_max_receives,
            ingest_environment={env.ENV_AUDIT_RETENTION_DAYS: str(config.retention.audit_days)},
        )
        for function, purpose in ((pipelines.ingest, "ingest"), (pipelines.publisher, "publisher")):
            name_workload_role(function, names, region, purpose)
            self.network.allow_through_endpoints(function.network_statements)
        for output_id, value in zip(
            PIPELINE_OUTPUTS,
            (
                bucket_name,
                pipelines.queue.queue_url,
                pipelines.dead_letter_queue.queue_url,
                pipelines.event_stream.stream_name,
                pipelines.publisher_dead_letter_queue.queue_url,
            ),
            strict=True,
        ):
            named_output(self, output_id, value)
        return pipelines

    def _pipeline_monitors(self) -> list[MonitoredFunction]:
        pipelines, sizing = self.pipelines, self.pipelines.sizing
        return [
            MonitoredFunction(
                "ingest",
                pipelines.ingest.function,
                sizing.ingest_timeout_seconds,
                alias=pipelines.ingest.alias,
            ),
            MonitoredFunction(
                "publisher",
                pipelines.publisher.function,
                sizing.publisher_timeout_seconds,
                reads_stream=True,
                alias=pipelines.publisher.alias,
            ),
        ]

    def _drills_and_resilience_hub(
        self, config: PlatformConfig, logs_key: kms.IKey, peers: tuple[str, ...]
    ) -> None:
        """This Region's FIS drill templates, and the Resilience Hub policy and application that describe
        this stack (docs/adr/0028-fault-injection-and-resilience-hub.md)."""
        names, region = config.names, self.region_config.name
        function = self.api_function.function
        self.fault_injection = FaultInjection(
            self,
            "FaultInjection",
            deployment=names.prefix,
            alarm_prefix=f"{names.prefix}-{region}",
            log_group_name=names.log_group("fis/experiments"),
            logs_key=logs_key,
            log_retention_days=config.retention.log_days,
            vpc=self.network.vpc,
            subnets=self.network.vpc.select_subnets(subnet_type=self.network.subnets.subnet_type).subnets,
            network_acl=self.network.network_acl,
            api=self.api.rest_api,
            # The health checks fail on purpose in an evacuation drill: the guards watch callers only.
            excluded_routes=[
                ApiRoute(op.path, op.method) for op in OPERATIONS if op.path.startswith("/health")
            ],
            observability=self.observability,
            capacity_alarm=self.observability.alarms[f"{names.prefix}-{region}-api-throttles"],
            latency_alarm=self.observability.alarms[f"{names.prefix}-{region}-api-latency-p99"],
            rto_budget_seconds=config.health_check.rto_budget_seconds(),
            error_rate_percent=config.alarms.api_5xx_rate_percent,
            latency_threshold_ms=config.alarms.api_p99_latency_ms,
            duration_minutes=config.fault_injection.duration_minutes,
            peer_alarm_prefixes={peer: f"{names.prefix}-{peer}" for peer in peers},
            function=function if self.fault_extension else None,
            lambda_extension=self.fault_extension,
            replicated_table=names.transactions_table if config.consistency == "eventual" else None,
        )
        self.resilience_hub = ResilienceHubApplication(
            self,
            "ResilienceHub",
            name=self.stack_name,
            description=f"Strongroom platform in {region}",
            policy=config.resilience,
            stack_resources={
                "api-function": (cast(CfnResource, function.node.default_child), "api"),
                "rest-api": (cast(CfnResource, self.api.rest_api.node.default_child), "api"),
                "alarm-topic": (cast(CfnResource, self.observability.topic.node.default_child), "alarms"),
                "ingest-bucket": (cast(CfnResource, self.ingest.bucket.node.default_child), "ingest"),
            },
            # The global tables are the data stack's; this Region's replicas are named by configuration.
            external_resources=[
                AppResource(
                    label,
                    "AWS::DynamoDB::Table",
                    label,
                    arn=self.format_arn(service="dynamodb", resource="table", resource_name=table),
                )
                for label, table in (
                    ("transactions-table", names.transactions_table),
                    ("audit-table", names.audit_table),
                )
            ],
        )

    def _api_domain(self, region: str) -> ApiDomain | None:
        """The Region's custom domain, from CDK context (``-c strongroom:api-domain:<region>=...`` and
        ``-c strongroom:api-certificate:<region>=<ACM ARN in that Region>``); none by default."""
        name = self.node.try_get_context(f"{DOMAIN_CONTEXT}:{region}")
        certificate = self.node.try_get_context(f"{CERTIFICATE_CONTEXT}:{region}")
        if bool(name) != bool(certificate):
            raise ValueError(
                f"give both {DOMAIN_CONTEXT}:{region} and {CERTIFICATE_CONTEXT}:{region} context values, "
                "or neither"
            )
        return ApiDomain(str(name), str(certificate)) if name else None

    def _routing_outputs(self, config: PlatformConfig, custom_domain: ApiDomain | None) -> None:
        """What the routing stack reads (docs/adr/0027-dns-routing-and-health-checks.md): the host its
        health check probes — the execute-api host, or the context custom domain, which disables that
        endpoint — and, with a hosted zone configured, ``<label>.<domain>`` served here (an ACM
        certificate CloudFormation validates in that zone, and a regional custom domain) for its records.
        The execute-api endpoint stays beside it: the health checks and signed callers use it."""
        path = config.health_check.path
        if custom_domain is not None:  # mapped at the root of the custom domain
            host, base = custom_domain.name, ""
        else:
            host = f"{self.api.rest_api.rest_api_id}.execute-api.{self.region}.{self.url_suffix}"
            stage = cast(apigw.CfnStage, self.api.stage.node.default_child).stage_name  # a name, not a Ref
            base = f"/{stage}"
        self.health_path = f"{base}{path}"
        named_output(self, API_HOST_OUTPUT, host, "The host Route 53 health-checks")
        named_output(self, API_URL_OUTPUT, f"https://{host}{base}", "The API's base URL in this Region")
        dns, name = config.dns, config.dns.record_name
        self.dns_name: apigw.DomainName | None = None
        if name is None or dns.domain_name is None or dns.hosted_zone_id is None:
            return
        if custom_domain is not None and custom_domain.name == name:
            raise ValueError(
                f"{DOMAIN_CONTEXT}:{self.region} is {name}, the DNS name every Region answers on; give "
                "the Region's custom domain a name of its own (it is what the health check probes)"
            )
        zone = route53.HostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=dns.hosted_zone_id, zone_name=dns.domain_name
        )
        self.dns_name = apigw.DomainName(
            self,
            "DnsName",
            domain_name=name,
            certificate=acm.Certificate(
                self,
                "DnsNameCertificate",
                domain_name=name,
                validation=acm.CertificateValidation.from_dns(zone),
            ),
            endpoint_type=apigw.EndpointType.REGIONAL,
            security_policy=apigw.SecurityPolicy.TLS_1_2,
            mapping=self.api.rest_api,
        )
        named_output(
            self,
            DNS_TARGET_OUTPUT,
            self.dns_name.domain_name_alias_domain_name,
            f"Where {name} points in this Region",
        )

    def _cursor_secret_rotation(
        self, config: PlatformConfig, data_key: kms.IKey, logs_key: kms.IKey, code: lambda_.Code
    ) -> RotatedSecret:
        """The cursor keys and the pseudonym secret, rotated with two cursor keys live (ADR 0013). The
        secret is the global data stack's, named here: the function runs in this Region's VPC."""
        names = config.names
        others = [r.name for r in config.regions if r.name != self.region]
        rotated = RotatedSecret(
            self,
            "CursorSecret",
            secret_name=cursor_secret_name(names),
            existing_secret=True,
            key=data_key,
            key_alias=names.key_alias("data"),
            replica_regions={r: key_alias_arn(self, names.key_alias("data"), r) for r in others},
            rotation_days=config.security.secret_rotation_days,
            rotation_handler=ROTATION_HANDLER,
            code=code,
            code_signing_config=self.code_signing,
            function_name=f"{names.prefix}-cursor-secret-rotation",
            vpc=self.network.vpc,
            subnets=self.network.subnets,
            security_group=self.network.function_security_group,
            logs_key=logs_key,
            log_retention_days=config.retention.log_days,
            powertools=Powertools(
                service_name=f"{names.prefix}-secret-rotation", metrics_namespace=NAMESPACE
            ),
        )
        name_workload_role(rotated.rotation, names, self.region, "cursor-secret-rotation")
        self.network.allow_through_endpoints(rotated.rotation.network_statements)
        return rotated
