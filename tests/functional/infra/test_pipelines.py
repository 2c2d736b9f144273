"""The pipelines in each platform stack (docs/adr/0033-pipeline-infrastructure.md): the ingest queue and
its dead-letter queue, the bucket's notification, the event stream, both functions, their event source
mappings, roles and endpoints, alarms and outputs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from strongroom import constants as env
from strongroom.infra.constructs._props import flatten_reference
from strongroom.runtime.adapters.schema import TRANSACTION_RECORDS_FILTER

PRIMARY, SECONDARY = "strongroom-eu-west-1", "strongroom-eu-central-1"
REGION = {PRIMARY: "eu-west-1", SECONDARY: "eu-central-1"}


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _one(template: dict[str, Any], kind: str, prefix: str) -> tuple[str, dict[str, Any]]:
    (found,) = [(k, v["Properties"]) for k, v in _of_type(template, kind).items() if k.startswith(prefix)]
    return found


def _queue(template: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, v["Properties"])
        for k, v in _of_type(template, "AWS::SQS::Queue").items()
        if v["Properties"].get("QueueName") == name
    ]
    return found


def _live(template: dict[str, Any], function_id: str) -> dict[str, Any]:
    """How CDK names a function's live alias: ``<function name>:live``, the name from the alias's ARN."""
    (alias_id,) = [
        k
        for k, a in _of_type(template, "AWS::Lambda::Alias").items()
        if a["Properties"]["FunctionName"] == {"Ref": function_id}
    ]
    return {"Fn::Join": ["", [{"Fn::Select": [6, {"Fn::Split": [":", {"Ref": alias_id}]}]}, ":live"]]}


def _function(template: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, v["Properties"])
        for k, v in _of_type(template, "AWS::Lambda::Function").items()
        if v["Properties"].get("FunctionName") == name
    ]
    return found


def _role_statements(template: dict[str, Any], function: dict[str, Any]) -> list[dict[str, Any]]:
    role_id = function["Role"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in _of_type(template, "AWS::IAM::ManagedPolicy").values()
        if {"Ref": role_id} in policy["Properties"].get("Roles", [])
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _by_sid(statements: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in statements if "Sid" in s}


def _ref(value: Any) -> str:
    return flatten_reference(value)


@pytest.fixture(scope="module")
def templates(synthesized: Any) -> dict[str, dict[str, Any]]:
    return {name: synthesized.template(name) for name in (PRIMARY, SECONDARY)}


@pytest.mark.parametrize("stack", [PRIMARY, SECONDARY])
def test_the_ingest_queue_is_encrypted_redrives_to_its_dlq_and_outlasts_six_timeouts(
    templates: dict[str, dict[str, Any]], stack: str
) -> None:
    template, region = templates[stack], REGION[stack]
    queue_id, queue = _queue(template, f"strongroom-ingest-{region}")
    dlq_id, dlq = _queue(template, f"strongroom-ingest-dlq-{region}")
    _, publisher_dlq = _queue(template, f"strongroom-publisher-dlq-{region}")
    for properties in (queue, dlq, publisher_dlq):
        assert "alias/strongroom/pipeline" in json.dumps(properties["KmsMasterKeyId"]) or (
            "strongroom-keys-" in json.dumps(properties["KmsMasterKeyId"])
        )
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_id, "Arn"]},
        "maxReceiveCount": 5,  # STRONGROOM_INGEST_MAX_RECEIVES' default
    }
    _, ingest = _function(template, "strongroom-ingest")
    assert queue["VisibilityTimeout"] >= 6 * ingest["Timeout"]
    # Only the ingest queue may redrive into its DLQ; nothing into the publisher's failure destination.
    allow = dlq["RedriveAllowPolicy"]
    assert allow["redrivePermission"] == "byQueue"
    assert [_ref(arn) for arn in allow["sourceQueueArns"]] == [
        f"arn:aws:sqs:{region}:<AWS::AccountId>:strongroom-ingest-{region}"
    ]
    assert publisher_dlq["RedriveAllowPolicy"] == {"redrivePermission": "denyAll"}
    assert dlq["MessageRetentionPeriod"] == publisher_dlq["MessageRetentionPeriod"] == 14 * 86400
    # TLS only on every queue; only this bucket, of this account, sends to the ingest queue.
    policies = {
        _ref(q): p["Properties"]["PolicyDocument"]["Statement"]
        for p in _of_type(template, "AWS::SQS::QueuePolicy").values()
        for q in p["Properties"]["Queues"]
    }
    assert len(policies) == 3
    for statements in policies.values():
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )
    (s3,) = [s for s in policies[f"<{queue_id}>"] if s["Effect"] == "Allow"]
    assert s3["Principal"] == {"Service": "s3.amazonaws.com"}
    assert s3["Action"] == "sqs:SendMessage"
    assert s3["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert _ref(s3["Condition"]["ArnEquals"]["aws:SourceArn"]) == (
        f"arn:aws:s3:::strongroom-ingest-{region}-<AWS::AccountId>"
    )


@pytest.mark.parametrize("stack", [PRIMARY, SECONDARY])
def test_only_uploads_under_incoming_notify_the_queue(
    templates: dict[str, dict[str, Any]], stack: str
) -> None:
    template, region = templates[stack], REGION[stack]
    queue_id, _ = _queue(template, f"strongroom-ingest-{region}")
    ((bucket_id, bucket),) = [
        (k, v)
        for k, v in _of_type(template, "AWS::S3::Bucket").items()
        if "NotificationConfiguration" in v["Properties"]
    ]
    assert _ref(bucket["Properties"]["BucketName"]) == f"strongroom-ingest-{region}-<AWS::AccountId>"
    assert bucket["Properties"]["NotificationConfiguration"] == {
        "QueueConfigurations": [
            {
                "Event": "s3:ObjectCreated:*",
                "Queue": {"Fn::GetAtt": [queue_id, "Arn"]},
                "Filter": {"S3Key": {"Rules": [{"Name": "prefix", "Value": "incoming/"}]}},
            }
        ]
    }
    # S3 tests the destination when the configuration is set: the queue's policy comes first.
    (policy_id,) = _of_type(template, "AWS::SQS::QueuePolicy").keys() & {
        k for k in template["Resources"] if k.startswith("PipelinesIngestQueuePolicy")
    }
    assert policy_id in bucket["DependsOn"]
    # and no custom resource (a function outside the VPC) manages notifications
    assert not _of_type(template, "Custom::S3BucketNotifications")
    assert bucket_id.startswith("IngestBucket")


def test_the_prefixes_are_the_runtimes() -> None:
    from strongroom.infra.constructs import pipelines  # noqa: PLC0415

    ingest = pytest.importorskip("strongroom.runtime.ingest")
    assert pipelines.REJECTS_PREFIX == ingest.REJECTS_PREFIX
    assert not pipelines.REJECTS_PREFIX.startswith(pipelines.INCOMING_PREFIX)


@pytest.mark.parametrize("stack", [PRIMARY, SECONDARY])
def test_event_source_mappings(templates: dict[str, dict[str, Any]], stack: str) -> None:
    template, region = templates[stack], REGION[stack]
    queue_id, _ = _queue(template, f"strongroom-ingest-{region}")
    publisher_dlq_id, _ = _queue(template, f"strongroom-publisher-dlq-{region}")
    ingest_id, ingest = _function(template, "strongroom-ingest")
    publisher_id, publisher = _function(template, "strongroom-publisher")
    _, sqs_mapping = _one(template, "AWS::Lambda::EventSourceMapping", "PipelinesIngestEvents")
    assert sqs_mapping == {
        "BatchSize": 5,
        "EventSourceArn": {"Fn::GetAtt": [queue_id, "Arn"]},
        "FunctionName": _live(template, ingest_id),  # the live alias (docs/adr/0039)
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "MaximumBatchingWindowInSeconds": 5,
        "ScalingConfig": {"MaximumConcurrency": ingest["ReservedConcurrentExecutions"]},
    }
    _, stream_mapping = _one(template, "AWS::Lambda::EventSourceMapping", "PipelinesPublisherEvents")
    assert stream_mapping == {
        "BatchSize": 100,
        "BisectBatchOnFunctionError": True,
        "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [publisher_dlq_id, "Arn"]}}},
        "EventSourceArn": {"Ref": "TransactionsStreamArn"},
        "FilterCriteria": {
            "Filters": [{"Pattern": json.dumps(TRANSACTION_RECORDS_FILTER, separators=(",", ":"))}]
        },
        "FunctionName": _live(template, publisher_id),
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "MaximumBatchingWindowInSeconds": 1,
        "MaximumRecordAgeInSeconds": 6 * 3600,
        "MaximumRetryAttempts": 5,
        "ParallelizationFactor": 1,
        "StartingPosition": "TRIM_HORIZON",
    }
    assert ingest["Handler"] == "strongroom.runtime.ingest.handler"
    assert publisher["Handler"] == "strongroom.runtime.publisher.handler"
    for function in (ingest, publisher):
        assert "VpcConfig" in function
        assert function["Architectures"] == ["arm64"]
        assert function["Runtime"] == "python3.13"


@pytest.mark.parametrize("stack", [PRIMARY, SECONDARY])
def test_the_stream_arn_is_a_parameter_held_to_this_regions_transactions_table(
    templates: dict[str, dict[str, Any]], stack: str
) -> None:
    import re  # noqa: PLC0415

    parameter = templates[stack]["Parameters"]["TransactionsStreamArn"]
    assert "Default" not in parameter  # a deploy must say which stream
    assert "aws dynamodb describe-table" in parameter["Description"]
    pattern = re.compile(parameter["AllowedPattern"])
    region, other = REGION[stack], REGION[SECONDARY if stack == PRIMARY else PRIMARY]
    good = (
        f"arn:aws:dynamodb:{region}:111122223333:table/strongroom-transactions/stream/2026-11-30T10:00:00.123"
    )
    assert pattern.match(good)
    assert not pattern.match(good.replace(region, other))
    assert not pattern.match(good.replace("strongroom-transactions", "strongroom-audit"))


@pytest.mark.parametrize("stack", [PRIMARY, SECONDARY])
def test_the_event_stream_is_on_demand_and_encrypted_with_the_pipeline_key(
    templates: dict[str, dict[str, Any]], stack: str
) -> None:
    (stream,) = [s["Properties"] for s in _of_type(templates[stack], "AWS::Kinesis::Stream").values()]
    assert stream["Name"] == f"strongroom-events-{REGION[stack]}"
    assert stream["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    assert "ShardCount" not in stream
    assert stream["StreamEncryption"]["EncryptionType"] == "KMS"
    key = json.dumps(stream["StreamEncryption"]["KeyId"])
    assert "PipelineKey" in key or "alias/strongroom/pipeline" in key
    assert stream["RetentionPeriodHours"] == 24


def _actions_on(statements: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Resource (flattened) → the actions allowed on it, KMS and Lambda's own ENI/log/trace grants aside."""
    found: dict[str, set[str]] = {}
    for statement in statements:
        actions = set(_listed(statement["Action"]))
        if statement["Effect"] != "Allow" or any(
            a.split(":")[0] in {"ec2", "logs", "xray", "kms"} for a in actions
        ):
            continue
        for resource in _listed(statement["Resource"]):
            found.setdefault(_ref(resource), set()).update(actions)
    return found


@pytest.mark.parametrize("stack", [PRIMARY, SECONDARY])
def test_each_role_allows_exactly_what_its_function_and_mapping_need(
    templates: dict[str, dict[str, Any]], stack: str
) -> None:
    template, region = templates[stack], REGION[stack]
    queue_id, _ = _queue(template, f"strongroom-ingest-{region}")
    dlq_id, _ = _queue(template, f"strongroom-publisher-dlq-{region}")
    (bucket_id,) = [k for k in _of_type(template, "AWS::S3::Bucket") if k.startswith("IngestBucket")]
    (stream_id,) = _of_type(template, "AWS::Kinesis::Stream")
    table = f"arn:aws:dynamodb:{region}:<AWS::AccountId>:table/strongroom-"
    _, ingest = _function(template, "strongroom-ingest")
    assert _actions_on(_role_statements(template, ingest)) == {
        f"<{bucket_id}.Arn>/incoming/*": {"s3:GetObject", "s3:GetObjectVersion"},
        f"<{bucket_id}.Arn>/rejects/*": {
            "s3:GetObject",
            "s3:PutObject",
            "s3:DeleteObject",
            "s3:AbortMultipartUpload",
            "s3:ListMultipartUploadParts",
        },
        f"<{queue_id}.Arn>": {
            "sqs:SendMessage",
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:ChangeMessageVisibility",
            "sqs:GetQueueAttributes",
        },
        f"{table}transactions": {
            "dynamodb:BatchGetItem",
            "dynamodb:BatchWriteItem",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
        },
        f"{table}audit": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
    }
    _, publisher = _function(template, "strongroom-publisher")
    assert _actions_on(_role_statements(template, publisher)) == {
        f"<{stream_id}.Arn>": {"kinesis:PutRecords"},
        "<TransactionsStreamArn>": {
            "dynamodb:DescribeStream",
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
        },
        "*": {"dynamodb:ListStreams"},
        f"<{dlq_id}.Arn>": {"sqs:SendMessage"},
    }
    # KMS only through the service that encrypts (never directly), besides the function's own environment.
    for function, services in ((ingest, {"s3", "sqs"}), (publisher, {"kinesis", "dynamodb", "sqs"})):
        via = set()
        for statement in _role_statements(template, function):
            if not any(a.startswith("kms:") for a in _listed(statement["Action"])):
                continue
            conditions = statement["Condition"]
            if "kms:ViaService" in conditions.get("StringEquals", {}):
                via.add(conditions["StringEquals"]["kms:ViaService"].split(".")[0])
            else:
                assert "kms:EncryptionContext:LambdaFunctionName" in conditions["StringEquals"]
        assert via == services


@pytest.mark.parametrize("stack", [PRIMARY, SECONDARY])
def test_the_api_lists_uploads_and_reads_audit_statuses_only(
    templates: dict[str, dict[str, Any]], stack: str
) -> None:
    template, region = templates[stack], REGION[stack]
    _, api = _function(template, "strongroom-api")
    statements = _by_sid(_role_statements(template, api))
    (bucket_id,) = [k for k in _of_type(template, "AWS::S3::Bucket") if k.startswith("IngestBucket")]
    listing = statements["ListUploadedFiles"]
    assert (listing["Action"], _ref(listing["Resource"])) == ("s3:ListBucket", f"<{bucket_id}.Arn>")
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["incoming/*"]}}
    audit = statements["ReadFileAuditStatus"]
    assert set(audit["Action"]) == {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}
    assert _ref(audit["Resource"]) == f"arn:aws:dynamodb:{region}:<AWS::AccountId>:table/strongroom-audit"
    variables = api["Environment"]["Variables"]
    assert variables[env.ENV_INGEST_BUCKET] == {"Ref": bucket_id}
    assert variables[env.ENV_AUDIT_TABLE] == "strongroom-audit"


@pytest.mark.parametrize("stack", [PRIMARY, SECONDARY])
def test_the_functions_are_told_their_tables_queue_and_stream(
    templates: dict[str, dict[str, Any]], stack: str
) -> None:
    template, region = templates[stack], REGION[stack]
    queue_id, _ = _queue(template, f"strongroom-ingest-{region}")
    (stream_id,) = _of_type(template, "AWS::Kinesis::Stream")
    _, ingest = _function(template, "strongroom-ingest")
    variables = ingest["Environment"]["Variables"]
    assert variables[env.ENV_TRANSACTIONS_TABLE] == "strongroom-transactions"
    assert variables[env.ENV_AUDIT_TABLE] == "strongroom-audit"
    assert variables[env.ENV_INGEST_QUEUE_URL] == {"Ref": queue_id}
    assert variables[env.ENV_AUDIT_RETENTION_DAYS] == "2557"
    _, publisher = _function(template, "strongroom-publisher")
    variables = publisher["Environment"]["Variables"]
    assert variables[env.ENV_OUTBOX_STREAM] == {"Fn::GetAtt": [stream_id, "Arn"]}
    assert int(variables[env.ENV_PUBLISHER_MAX_ATTEMPTS]) >= 1
    # Roles the Region's keys admit (docs/adr/0020)
    roles = {
        r["Properties"].get("RoleName")
        for r in _of_type(template, "AWS::IAM::Role").values()
        if r["Properties"].get("RoleName")
    }
    assert {f"strongroom-{region}-ingest", f"strongroom-{region}-publisher"} <= roles


@pytest.mark.parametrize("stack", [PRIMARY, SECONDARY])
def test_endpoints_carry_the_pipelines_calls_and_nothing_the_lambda_service_does(
    templates: dict[str, dict[str, Any]], stack: str
) -> None:
    template = templates[stack]
    endpoints = {
        flatten_reference(r["Properties"]["ServiceName"]).rsplit(".", 1)[-1]: r["Properties"]
        for r in _of_type(template, "AWS::EC2::VPCEndpoint").values()
    }
    # lambda and codedeploy: the release hooks' smoke invocations and reports (docs/adr/0039)
    assert set(endpoints) == {
        "codedeploy",
        "dynamodb",
        "kinesis-streams",
        "kms",
        "lambda",
        "s3",
        "secretsmanager",
        "sqs",
        "xray",
    }
    assert endpoints["s3"]["VpcEndpointType"] == "Gateway"
    (bucket_id,) = [k for k in _of_type(template, "AWS::S3::Bucket") if k.startswith("IngestBucket")]
    s3 = {
        (frozenset(_listed(s["Action"])), _ref(s["Resource"]))
        for s in endpoints["s3"]["PolicyDocument"]["Statement"]
    }
    assert s3 == {
        (frozenset({"s3:ListBucket"}), f"<{bucket_id}.Arn>"),
        (frozenset({"s3:GetObject", "s3:GetObjectVersion"}), f"<{bucket_id}.Arn>/incoming/*"),
        (
            frozenset(
                {
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:DeleteObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                }
            ),
            f"<{bucket_id}.Arn>/rejects/*",
        ),
    }
    carried = {
        service: {a for s in e["PolicyDocument"]["Statement"] for a in _listed(s["Action"])}
        for service, e in endpoints.items()
    }
    assert carried["sqs"] == {"sqs:SendMessage"}
    assert carried["kinesis-streams"] == {"kinesis:PutRecords"}
    assert (
        not {"dynamodb:GetRecords", "dynamodb:ListStreams", "dynamodb:DescribeStream"} & carried["dynamodb"]
    )


@pytest.mark.parametrize("stack", [PRIMARY, SECONDARY])
def test_pipeline_alarms_name_their_runbooks(templates: dict[str, dict[str, Any]], stack: str) -> None:
    region = REGION[stack]
    alarms = {
        a["Properties"]["AlarmName"]: a["Properties"]["AlarmDescription"]
        for a in _of_type(templates[stack], "AWS::CloudWatch::Alarm").values()
    }
    expected = {
        "ingest-dlq-depth": "dlq-depth",
        "publisher-dlq-depth": "dlq-depth",
        "publisher-iterator-age": "iterator-age",
        "ingest-errors": "function-errors",
        "ingest-throttles": "function-throttles",
        "publisher-errors": "function-errors",
        "publisher-throttles": "function-throttles",
    }
    for suffix, runbook in expected.items():
        assert f"docs/runbooks/{runbook}.md" in alarms[f"strongroom-{region}-{suffix}"]
    assert f"strongroom-{region}-ingest-iterator-age" not in alarms


@pytest.mark.parametrize("stack", [PRIMARY, SECONDARY])
def test_outputs_for_drills_and_tools(templates: dict[str, dict[str, Any]], stack: str) -> None:
    outputs = templates[stack]["Outputs"]
    region = REGION[stack]
    assert _ref(outputs["IngestBucket"]["Value"]) == f"strongroom-ingest-{region}-<AWS::AccountId>"
    assert outputs["IngestQueueUrl"]["Value"] == {
        "Ref": _queue(templates[stack], f"strongroom-ingest-{region}")[0]
    }
    assert outputs["IngestDlqUrl"]["Value"] == {
        "Ref": _queue(templates[stack], f"strongroom-ingest-dlq-{region}")[0]
    }
    assert outputs["PublisherDlqUrl"]["Value"] == {
        "Ref": _queue(templates[stack], f"strongroom-publisher-dlq-{region}")[0]
    }
    (stream_id,) = _of_type(templates[stack], "AWS::Kinesis::Stream")
    assert outputs["EventStream"]["Value"] == {"Ref": stream_id}


def test_max_receives_comes_from_the_configuration() -> None:
    from aws_cdk.assertions import Template  # noqa: PLC0415

    from strongroom.config import ConfigError, load_config  # noqa: PLC0415
    from strongroom.infra.app import build_app  # noqa: PLC0415
    from strongroom.infra.stacks.regional import RegionalStack  # noqa: PLC0415

    with pytest.raises(ConfigError, match=env.ENV_INGEST_MAX_RECEIVES):
        load_config(environ={env.ENV_INGEST_MAX_RECEIVES: "0"})
    app = build_app(load_config(environ={env.ENV_INGEST_MAX_RECEIVES: "9"}), compliance=False)
    (primary,) = [s for s in app.node.children if isinstance(s, RegionalStack) and s.node.id == PRIMARY]
    template = Template.from_stack(primary).to_json()
    _, queue = _queue(template, "strongroom-ingest-eu-west-1")
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 9


def test_the_pipeline_key_lets_s3_notify_the_platforms_queues_only() -> None:
    from strongroom.config import load_config  # noqa: PLC0415
    from strongroom.infra.app import build_app  # noqa: PLC0415
    from strongroom.infra.stacks.keys import KeyStack  # noqa: PLC0415

    app = build_app(load_config(environ={}), compliance=False)
    (keys,) = [s for s in app.node.children if isinstance(s, KeyStack) and s.region == "eu-west-1"]
    from aws_cdk.assertions import Template  # noqa: PLC0415

    template = Template.from_stack(keys).to_json()
    (key,) = [
        r["Properties"]
        for k, r in _of_type(template, "AWS::KMS::Key").items()
        if k.startswith("KeysPipelineKey")
    ]
    statements = _by_sid(key["KeyPolicy"]["Statement"])
    s3 = statements["S3NotifiesThePlatformsEncryptedQueues"]
    assert s3["Principal"] == {"Service": "s3.amazonaws.com"}
    assert set(s3["Action"]) == {"kms:GenerateDataKey", "kms:Decrypt"}
    assert s3["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    like = {k: _ref(v) for k, v in s3["Condition"]["ArnLike"].items()}
    assert like == {
        "aws:SourceArn": "arn:aws:s3:::strongroom-*",
        "kms:EncryptionContext:aws:sqs:arn": "arn:aws:sqs:eu-west-1:<AWS::AccountId>:strongroom-*",
    }
    via = statements["AccountUsesTheKeyThroughNamedServices"]["Condition"]["StringEquals"]["kms:ViaService"]
    assert sorted(via) == [
        "kinesis.eu-west-1.amazonaws.com",
        "s3.eu-west-1.amazonaws.com",
        "sqs.eu-west-1.amazonaws.com",
    ]
