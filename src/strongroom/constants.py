"""Every environment variable Strongroom reads, in one place.

The runtime (Lambda handlers) and the tooling (config, local mode, CDK) both import names from
here, so a setting is spelled once. This module is part of the Lambda bundle: stdlib only.
"""

from __future__ import annotations

# --- platform configuration (strongroom.config) ----------------------------------------------
ENV_NAME_PREFIX = "STRONGROOM_NAME_PREFIX"
ENV_REGIONS = "STRONGROOM_REGIONS"
ENV_CIDRS = "STRONGROOM_CIDRS"
ENV_WITNESS_REGION = "STRONGROOM_WITNESS_REGION"
ENV_CONSISTENCY = "STRONGROOM_CONSISTENCY"
ENV_HEALTH_INTERVAL = "STRONGROOM_HEALTH_CHECK_INTERVAL_SECONDS"
ENV_HEALTH_FAILURE_THRESHOLD = "STRONGROOM_HEALTH_CHECK_FAILURE_THRESHOLD"
ENV_DNS_TTL = "STRONGROOM_DNS_TTL_SECONDS"
ENV_HEALTH_CHECKER_REGIONS = "STRONGROOM_HEALTH_CHECKER_REGIONS"
ENV_CLIENT_RETRY = "STRONGROOM_CLIENT_RETRY_SECONDS"
# DNS for callers that do not sign for one Region (docs/adr/0027-dns-routing-and-health-checks.md).
ENV_DOMAIN_NAME = "STRONGROOM_DOMAIN_NAME"
ENV_HOSTED_ZONE_ID = "STRONGROOM_HOSTED_ZONE_ID"
ENV_DNS_RECORD_LABEL = "STRONGROOM_DNS_RECORD_LABEL"
ENV_DNS_ROUTING = "STRONGROOM_DNS_ROUTING"
ENV_ARC_ROUTING_CONTROLS = "STRONGROOM_ARC_ROUTING_CONTROLS"
ENV_RTO = "STRONGROOM_RTO_SECONDS"
ENV_RPO = "STRONGROOM_RPO_SECONDS"
# The rest of the Resilience Hub policy (docs/adr/0028-fault-injection-and-resilience-hub.md).
ENV_RESILIENCE_TIER = "STRONGROOM_RESILIENCE_TIER"
ENV_SOFTWARE_RTO = "STRONGROOM_SOFTWARE_RTO_SECONDS"
ENV_SOFTWARE_RPO = "STRONGROOM_SOFTWARE_RPO_SECONDS"
# AWS FIS drills (docs/adr/0028): how long each fault lasts, and whether the API function carries the
# FIS Lambda extension (a layer on the production function: off unless asked for).
ENV_FIS_DURATION = "STRONGROOM_FIS_DURATION_MINUTES"
ENV_FIS_LAMBDA_EXTENSION = "STRONGROOM_FIS_LAMBDA_EXTENSION"
ENV_REPLICATION_LAG = "STRONGROOM_REPLICATION_LAG_SECONDS"
ENV_LOG_RETENTION_DAYS = "STRONGROOM_LOG_RETENTION_DAYS"
ENV_AUDIT_RETENTION_DAYS = "STRONGROOM_AUDIT_RETENTION_DAYS"
ENV_BACKUP_RETENTION_DAYS = "STRONGROOM_BACKUP_RETENTION_DAYS"
ENV_MAX_BODY_BYTES = "STRONGROOM_MAX_BODY_BYTES"
ENV_PAGE_SIZE_MAX = "STRONGROOM_PAGE_SIZE_MAX"
ENV_KEY_ADMIN_ROLE = "STRONGROOM_KEY_ADMIN_ROLE"
ENV_BREAK_GLASS_ROLE = "STRONGROOM_BREAK_GLASS_ROLE"
ENV_ORGANIZATION_ID = "STRONGROOM_ORGANIZATION_ID"
ENV_ALARM_EMAIL = "STRONGROOM_ALARM_EMAIL"
ENV_ALARM_TOPIC_ARN = "STRONGROOM_ALARM_TOPIC_ARN"
ENV_OBJECT_LOCK_DAYS = "STRONGROOM_OBJECT_LOCK_DAYS"
ENV_WAF_ANONYMOUS_IP_ACTION = "STRONGROOM_WAF_ANONYMOUS_IP_ACTION"
# How many times the ingest queue delivers a message before moving it to its dead-letter queue.
ENV_INGEST_MAX_RECEIVES = "STRONGROOM_INGEST_MAX_RECEIVES"
ENV_SECRET_ROTATION_DAYS = "STRONGROOM_SECRET_ROTATION_DAYS"  # noqa: S105 - a variable name
# Read by config, and at first use by the runtime and the local gateway (strongroom.runtime.problems).
ENV_PROBLEM_TYPE_BASE = "STRONGROOM_PROBLEM_TYPE_BASE"
# Canary releases through CodeDeploy (docs/adr/0039-signed-code-and-canary-releases.md): the share of
# traffic the new version gets first, and for how many minutes, before it gets all of it.
ENV_CANARY_PERCENT = "STRONGROOM_CANARY_PERCENT"
ENV_CANARY_MINUTES = "STRONGROOM_CANARY_MINUTES"
ENV_LAMBDA_CONCURRENCY_QUOTA = "STRONGROOM_LAMBDA_CONCURRENCY_QUOTA"
ENV_API_RATE_QUOTA = "STRONGROOM_API_RATE_QUOTA"
ENV_QUOTA_ALARM_PERCENT = "STRONGROOM_QUOTA_ALARM_PERCENT"

# --- what a deployed function is told about its own Region (strongroom.runtime.settings) -----
ENV_AWS_REGION = "AWS_REGION"  # set by Lambda
ENV_AWS_ENDPOINT_URL = "AWS_ENDPOINT_URL"  # honoured by boto3 itself; local mode points it at the emulator
ENV_TRANSACTIONS_TABLE = "STRONGROOM_TRANSACTIONS_TABLE"
# The ingest function (strongroom.runtime.ingest; docs/adr/0031-batch-ingestion-exactly-once.md): its
# audit table, the queue its continuations go to (default: the queue the message came from), and how
# much of the invocation's time is kept back to write a checkpoint (seconds).
ENV_AUDIT_TABLE = "STRONGROOM_AUDIT_TABLE"
ENV_INGEST_QUEUE_URL = "STRONGROOM_INGEST_QUEUE_URL"
ENV_INGEST_TIME_MARGIN = "STRONGROOM_INGEST_TIME_MARGIN_SECONDS"
ENV_INGEST_WRITES_IN_FLIGHT = "STRONGROOM_INGEST_WRITES_IN_FLIGHT"
ENV_DATA_KEY_ID = "STRONGROOM_DATA_KEY_ID"
ENV_HEALTH_CANARY_CIPHERTEXT = "STRONGROOM_HEALTH_CANARY_CIPHERTEXT"
# How long one deep-health result is shared within an execution environment (seconds; 0 = never).
ENV_DEEP_HEALTH_INTERVAL = "STRONGROOM_DEEP_HEALTH_INTERVAL_SECONDS"
# The Region's ingest bucket (GET /files lists it, with each file's status from the audit table).
ENV_INGEST_BUCKET = "STRONGROOM_INGEST_BUCKET"
ENV_CURSOR_SECRET = "STRONGROOM_CURSOR_SECRET"  # noqa: S105 - the variable's name, not a secret
# In AWS the secret itself is never in the environment: the function reads it from Secrets Manager.
ENV_CURSOR_SECRET_ID = "STRONGROOM_CURSOR_SECRET_ID"  # noqa: S105 - the variable's name, not a secret
# The outbox publisher (strongroom.runtime.publisher): its Region's Kinesis stream (name or ARN), and
# how many PutRecords attempts one group of records gets before the batch is reported as failed.
ENV_OUTBOX_STREAM = "STRONGROOM_OUTBOX_STREAM"
ENV_PUBLISHER_MAX_ATTEMPTS = "STRONGROOM_PUBLISHER_MAX_ATTEMPTS"
ENV_TRACING = "POWERTOOLS_TRACE_DISABLED"  # Powertools' own switch; "true" disables tracing
ENV_SERVICE_NAME = "POWERTOOLS_SERVICE_NAME"
ENV_METRICS_NAMESPACE = "POWERTOOLS_METRICS_NAMESPACE"
ENV_LOG_LEVEL = "POWERTOOLS_LOG_LEVEL"
# The package's semantic version (strongroom.__version__), stamped into every deployed function's
# environment (and its `live` alias's description) so /health can say which release answers.
ENV_VERSION = "STRONGROOM_VERSION"
# A release's smoke-test hook (strongroom.delivery_hooks): the version it tests (a qualified function
# ARN) and which smoke request it sends ("api" or "batch").
ENV_HOOK_TARGET = "STRONGROOM_HOOK_TARGET"
ENV_HOOK_SMOKE = "STRONGROOM_HOOK_SMOKE"

# --- local mode (strongroom.local) ------------------------------------------------------------
ENV_LOCAL_ACCESS_KEY_ID = "STRONGROOM_ACCESS_KEY_ID"
ENV_LOCAL_SECRET_ACCESS_KEY = "STRONGROOM_SECRET_ACCESS_KEY"  # noqa: S105 - a variable name
ENV_LOCAL_STATE_DIR = "STRONGROOM_STATE_DIR"
# Local mode: where the functions' execution environments write their logs (default: the terminal).
ENV_LOCAL_FUNCTION_LOG = "STRONGROOM_LOCAL_FUNCTION_LOG"

# --- building for Lambda (strongroom.infra.packaging) -----------------------------------------
ENV_LAMBDA_PYTHON = "STRONGROOM_LAMBDA_PYTHON"  # a CPython 3.13 to compile and test with

# --- set on every deployed (and locally emulated) function -----------------------------------
FUNCTION_ENVIRONMENT = {
    # pydantic scans every installed distribution's entry points for plugins on first use; the
    # bundle ships none, so the scan is pure cold-start cost.
    "PYDANTIC_DISABLE_PLUGINS": "__all__",
    # STS in the function's own Region, reached through its VPC endpoint, not the global endpoint.
    "AWS_STS_REGIONAL_ENDPOINTS": "regional",
    # X-Ray must never hold customer data: no response bodies or exception text as trace metadata.
    "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
    "POWERTOOLS_TRACER_CAPTURE_ERROR": "false",
}
