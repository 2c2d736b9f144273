"""One Region's platform: network, ingest bucket, API function, API + WAF, observability — and, in the
primary Region only, the global tables and the replicated cursor secret.

Built from the configuration, the same way for every Region (multi-Region is data, not copy-paste).
Keys come from the Region's key stack; a key in another Region is named by alias ARN, because
CloudFormation cannot reference a resource across Regions.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import ArnFormat, Environment, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
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
    TransactionStore,
)
from strongroom.infra.constructs._props import acknowledge
from strongroom.infra.constructs.network import GATEWAY_SERVICES
from strongroom.infra.packaging import LambdaBundle
from strongroom.infra.stacks.keys import KeyStack
from strongroom.runtime.adapters.kms import CANARY_CONTEXT
from strongroom.runtime.observability import NAMESPACE, SERVICE
from strongroom.runtime.openapi import document
from strongroom.runtime.routes import OPERATIONS

# Where the API function finds the cursor HMAC secret in AWS: a Secrets Manager secret id, not the
# secret. The runtime still reads STRONGROOM_CURSOR_SECRET; moving this name into
# strongroom.constants and reading the secret at cold start is the runtime change ADR 0013 asks for.

# Every AWS service the API function's code calls from inside the VPC, other than S3 and DynamoDB
# (gateway endpoints). tests/functional/infra derives this from the function's IAM actions.
API_INTERFACE_SERVICES = ("kms", "secretsmanager", "xray")
API_HANDLER = "strongroom.runtime.api.handler"
DOMAIN_CONTEXT = "strongroom:api-domain"
CERTIFICATE_CONTEXT = "strongroom:api-certificate"


@dataclass(frozen=True, slots=True)
class PrimaryResources:
    """What the primary Region's stack creates for every Region."""

    store: TransactionStore
    cursor_secret: secretsmanager.Secret


def cursor_secret_name(names: ResourceNames) -> str:
    return f"{names.prefix}/api/cursor-secret"


def key_alias_arn(stack: Stack, alias: str, region: str) -> str:
    return stack.format_arn(service="kms", region=region, resource=alias)


class RegionalStack(Stack):
    """Attributes: ``network``, ``ingest``, ``api_function``, ``api``, ``observability``, ``primary``
    (``PrimaryResources`` in the primary Region, else None), ``region_config``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PlatformConfig,
        region: RegionConfig,
        keys: KeyStack,
        bundle: LambdaBundle,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=Environment(region=region.name),
            description=f"Strongroom platform ({region.name}, {config.consistency} consistency)",
            termination_protection=True,
        )
        self.region_config = region
        names = config.names
        self.primary_region = config.primary_region.name
        is_primary = region.name == self.primary_region
        data_key = kms.Key.from_key_arn(self, "DataKey", keys.keys.key("data").key_arn)
        logs_key = kms.Key.from_key_arn(self, "LogsKey", keys.keys.key("logs").key_arn)
        pipeline_key = kms.Key.from_key_arn(self, "PipelineKey", keys.keys.key("pipeline").key_arn)
        retention_days = config.retention.log_days

        self.network = PrivateNetwork(
            self,
            "Network",
            region=region,
            logs_key=logs_key,
            log_retention_days=retention_days,
            interface_services=API_INTERFACE_SERVICES,
        )
        self.ingest = IngestBucket(self, "Ingest", key=pipeline_key)
        self.network.allow_through_gateway(
            "s3", ["s3:GetObject", "s3:PutObject"], [self.ingest.bucket.arn_for_objects("*")]
        )
        self.network.allow_through_gateway("s3", ["s3:ListBucket"], [self.ingest.bucket.bucket_arn])

        self.primary = self._primary_resources(config, data_key) if is_primary else None
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
        ]
        limits = config.api_function
        self.api_function = SecureFunction(
            self,
            "ApiFunction",
            function_name=f"{names.prefix}-api",
            handler=API_HANDLER,
            code=bundle.code(),
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
            powertools=Powertools(service_name=SERVICE, metrics_namespace=NAMESPACE),
            statements=statements,
            environment={
                **config.function_environment(),
                env.ENV_TRANSACTIONS_TABLE: names.transactions_table,
                env.ENV_DATA_KEY_ID: data_key.key_arn,
                env.ENV_CURSOR_SECRET_ID: secret_name,
            },
        )
        for statement in statements:
            actions = statement.actions
            service = actions[0].split(":", 1)[0]
            if service in GATEWAY_SERVICES:
                self.network.allow_through_gateway(service, actions, statement.resources)

        self.api = TransactionApi(
            self,
            "Api",
            api_name=f"{names.prefix}-api",
            handler=self.api_function.function,
            operations=OPERATIONS,
            models={
                name: schema
                for name, schema in document()["components"]["schemas"].items()
                if any(op.request == name for op in OPERATIONS)
            },
            logs_key=logs_key,
            log_retention_days=retention_days,
            throttle_rate_per_second=config.api.throttle_rate_per_second,
            throttle_burst=config.api.throttle_burst,
            health_throttle_rate_per_second=config.api.health_throttle_rate_per_second,
            health_throttle_burst=config.api.health_throttle_burst,
            max_body_bytes=config.api.max_body_bytes,
            waf_requests_per_ip_per_5min=config.api.waf_requests_per_ip_per_5min,
            problem_type_base=config.problem_type_base,
            domain=self._api_domain(region.name),
        )

        peers = tuple(r.name for r in config.regions if r.name != region.name)
        self.observability = Observability(
            self,
            "Observability",
            alarm_prefix=f"{names.prefix}-{region.name}",
            topic_key=logs_key,
            thresholds=config.alarms,
            functions=[MonitoredFunction("api", self.api_function.function, limits.timeout_seconds)],
            api=self.api.rest_api,
            tables=[
                MonitoredTable(
                    "transactions",
                    names.transactions_table,
                    peers if config.consistency == "eventual" else (),
                ),
                MonitoredTable("audit", names.audit_table, peers),
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

    def _primary_resources(self, config: PlatformConfig, data_key: kms.IKey) -> PrimaryResources:
        names = config.names
        others = [r.name for r in config.regions if r.name != self.region]
        remote_keys = {r: key_alias_arn(self, names.key_alias("data"), r) for r in others}
        store = TransactionStore(
            self,
            "Store",
            transactions_table_name=names.transactions_table,
            audit_table_name=names.audit_table,
            regions=[r.name for r in config.regions],
            consistency=config.consistency,
            witness_region=config.witness_region if config.consistency == "strong" else None,
            table_key=data_key,
            replica_key_arns=remote_keys,
        )
        secret = secretsmanager.Secret(
            self,
            "CursorSecret",
            secret_name=cursor_secret_name(names),
            description="HMAC key that signs the API's pagination cursors (replicated to every Region)",
            encryption_key=data_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                password_length=64, exclude_punctuation=True
            ),
            replica_regions=[
                secretsmanager.ReplicaRegion(
                    region=r, encryption_key=kms.Key.from_key_arn(self, f"DataKey-{r}", remote_keys[r])
                )
                for r in others
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        for rule in (
            "AwsSolutions-SMG4",
            "NIST.800.53.R5-SecretsManagerRotationEnabled",
            "HIPAA.Security-SecretsManagerRotationEnabled",
        ):
            acknowledge(
                secret,
                rule,
                "An HMAC key for pagination cursors, not a credential. Rotating it invalidates every "
                "outstanding cursor, so rotation comes with dual-key verification in the runtime "
                "(ADR 0013).",
            )
        return PrimaryResources(store=store, cursor_secret=secret)
