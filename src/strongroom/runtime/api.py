"""The transactions API (API Gateway REST proxy → Lambda): thin handlers over the domain and the table.

A handler parses, calls the domain and the store, and returns JSON; every error becomes RFC 9457
problem+json in :func:`_to_problem`, the one place errors meet HTTP. What a cold start pays for is
kept small: no Powertools validation middleware (requests are validated by our pydantic model
directly), the OpenAPI document is built only when asked for, the X-Ray SDK is imported only when
tracing is on, and AWS clients are created on first use.
"""

from __future__ import annotations

from strongroom.runtime.lifecycle import long_lived

with long_lived():  # the cold start's imports are long-lived: no GC passes over them
    import json
    import re
    from collections.abc import Callable
    from dataclasses import dataclass, field
    from datetime import UTC, datetime
    from functools import cache, wraps
    from typing import TYPE_CHECKING, Any

    from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
    from aws_lambda_powertools.event_handler.exceptions import NotFoundError
    from aws_lambda_powertools.logging import correlation_paths
    from botocore.exceptions import BotoCoreError, ClientError
    from pydantic import ValidationError

    from strongroom.runtime import problems as p
    from strongroom.runtime import routes, snapstart
    from strongroom.runtime.adapters.dynamodb import StoreUnavailable, TransactionStore
    from strongroom.runtime.cursor import CursorCodec
    from strongroom.runtime.domain import (
        IdempotencyKeyReused,
        InvalidCursor,
        InvalidInput,
        TransactionNotFound,
        new_transaction,
        parse_transaction_request,
        transaction_id_for,
        validate_idempotency_key,
    )
    from strongroom.runtime.domain.transaction import CUSTOMER_ID_PATTERN, is_transaction_id, timestamp_text
    from strongroom.runtime.health import DeepHealthCheck
    from strongroom.runtime.identity import NoIdentity, principal
    from strongroom.runtime.models import (
        CreateTransaction,
        Health,
        MalformedBody,
        problems_from,
        transaction_json,
    )
    from strongroom.runtime.observability import count, customer_ref, logger, metrics, traced
    from strongroom.runtime.routes import HEALTH_JSON, JSON, OPERATIONS, SECURITY_HEADERS, Operation
    from strongroom.runtime.settings import RuntimeSettings, SettingsError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from strongroom.runtime.adapters.files import FileCatalog

_CUSTOMER_ID_RE = re.compile(CUSTOMER_ID_PATTERN)
_LIMIT_RE = re.compile(r"[0-9]{1,4}")
_RETRYABLE_AWS_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "ReplicatedWriteConflictException",
    }
)

app = APIGatewayRestResolver()


# --- dependencies: built from the environment on first use; tests and local tools inject their own ---


@dataclass
class Dependencies:
    settings: RuntimeSettings
    store: TransactionStore
    health: DeepHealthCheck
    cursors: CursorCodec | None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # GET /files: built on first use (an S3 client costs the cold start nothing until then).
    files: Callable[[], FileCatalog] | None = None


_dependencies: Dependencies | None = None


def configure(dependencies: Dependencies | None) -> None:
    """Use these dependencies (or, with None, rebuild them from the environment on next use)."""
    global _dependencies  # noqa: PLW0603 - one set of dependencies per execution environment
    _dependencies = dependencies


@snapstart.forget_on_restore
def _forget_environment() -> None:
    """SnapStart: the next request rebuilds the clients from this environment's own credentials and
    reads the secret again (a rotation may have happened since the snapshot; snapstart.py)."""
    configure(None)


def dependencies() -> Dependencies:
    global _dependencies  # noqa: PLW0603
    if _dependencies is None:
        _dependencies = dependencies_from_environment()
    return _dependencies


def dependencies_from_environment() -> Dependencies:
    with long_lived():  # the SDK and its clients live as long as the execution environment
        return _build_dependencies()


def _build_dependencies() -> Dependencies:
    import boto3  # noqa: PLC0415 - first use, not import, pays for the SDK
    from botocore.config import Config  # noqa: PLC0415

    settings = RuntimeSettings.from_environ()
    # Short timeouts: inside a VPC, a missing endpoint shows up as a timeout, and fail-fast lets
    # Route 53 see an unhealthy Region instead of a hung one.
    config = Config(
        region_name=settings.region,
        connect_timeout=1,
        read_timeout=2,
        retries={"mode": "standard", "max_attempts": 3},
    )
    session = boto3.session.Session()
    if settings.cursor_secret is None and settings.cursor_secret_id:
        from strongroom.runtime.adapters.secrets import read_secret  # noqa: PLC0415 - AWS deployments only

        secret = read_secret(session.client("secretsmanager", config=config), settings.cursor_secret_id)
        settings = settings.with_cursor_secret(secret)
    dynamodb = session.client("dynamodb", config=config)
    store = TransactionStore(dynamodb, settings.transactions_table)
    health = DeepHealthCheck(
        region=settings.region,
        store=store,
        kms_client=cache(lambda: session.client("kms", config=config)),
        key_id=settings.data_key_id,
        canary_ciphertext=settings.health_canary_ciphertext,
        interval_seconds=settings.deep_health_interval_seconds,
    )
    # Every live cursor key (current and previous) comes with the one value read above.
    cursors = CursorCodec(settings.application_secret) if settings.application_secret else None
    files = None
    if settings.ingest_bucket and settings.audit_table:
        bucket, audit_table = settings.ingest_bucket, settings.audit_table

        def catalog() -> FileCatalog:
            from strongroom.runtime.adapters.files import FileCatalog  # noqa: PLC0415 - GET /files only

            return FileCatalog(session.client("s3", config=config), dynamodb, bucket, audit_table)

        files = cache(catalog)
    return Dependencies(settings=settings, store=store, health=health, cursors=cursors, files=files)


# --- the operations (declared in routes.py), registered with the resolver ---


Handler = Callable[..., Response[str]]


def handles(op: Operation) -> Callable[[Handler], Handler]:
    """Register a handler for ``op``. An authorised operation refuses a request with no IAM identity
    itself too: API Gateway should never pass one, but a misconfigured method must not open the API."""

    def register(function: Handler) -> Handler:
        if not op.authorized:
            return app.route(op.resolver_path, op.method)(function)

        @wraps(function)
        def authorised(*args: Any, **kwargs: Any) -> Response[str]:
            _caller(app.current_event)
            return function(*args, **kwargs)

        app.route(op.resolver_path, op.method)(authorised)
        return function

    return register


def _json(
    status: int, body: Any, headers: dict[str, str] | None = None, content_type: str = JSON
) -> Response[str]:
    return Response(
        status, content_type, json.dumps(body, ensure_ascii=False, separators=(",", ":")), headers
    )


def _caller(event: APIGatewayProxyEvent) -> str:
    """The principal idempotency keys are scoped to (identity.py); no identity is a 403, never "anonymous"."""
    try:
        return principal((event.raw_event.get("requestContext") or {}).get("identity"))
    except NoIdentity as exc:
        raise p.Problem(p.FORBIDDEN, f"{exc}: sign the request with SigV4 (IAM authorization)") from None


def _body(event: APIGatewayProxyEvent, limit: int) -> str:
    try:
        body = event.decoded_body or ""
    except UnicodeDecodeError:
        raise MalformedBody("body is not UTF-8 text") from None
    size = len(body.encode())
    if size > limit:
        raise p.Problem(p.PAYLOAD_TOO_LARGE, f"body is {size} bytes; the limit is {limit}", limit=limit)
    content_type = (event.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != JSON:
        raise p.Problem(
            p.UNSUPPORTED_MEDIA_TYPE, f"Content-Type must be {JSON}, got {content_type or 'none'!r}"
        )
    return body


def _idempotency_key(event: APIGatewayProxyEvent) -> str:
    raw = event.headers.get("idempotency-key")
    try:
        return validate_idempotency_key(raw)
    except InvalidInput as exc:
        kind = p.IDEMPOTENCY_KEY_REQUIRED if raw is None else p.INVALID_IDEMPOTENCY_KEY
        raise p.Problem(kind, exc.problems[0].message) from None


@handles(routes.CREATE_TRANSACTION)
def create_transaction() -> Response[str]:
    deps = dependencies()
    event = app.current_event
    caller = _caller(event)
    body = _body(event, deps.settings.max_body_bytes)
    key = _idempotency_key(event)
    try:
        fields = CreateTransaction.model_validate_json(body)
    except ValidationError as exc:
        raise InvalidInput(problems_from(exc)) from None
    request = parse_transaction_request(
        amount=fields.amount,
        currency=fields.currency,
        customer_id=fields.customer_id,
        type=fields.type,
        reference=fields.reference,
    )
    txn = new_transaction(request, transaction_id=transaction_id_for(caller, key), now=deps.clock())
    result = deps.store.create(txn)
    count("TransactionReplayed" if result.replayed else "TransactionCreated")
    logger.info(
        "transaction replayed" if result.replayed else "transaction created",
        extra={
            "transactionId": txn.id,
            "customer": customer_ref(txn.customer_id, deps.settings.pseudonym_key),
            "currency": txn.money.currency,
        },
    )
    headers = {"Location": f"/transactions/{txn.id}"}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return _json(201, transaction_json(result.transaction), headers)


@handles(routes.GET_TRANSACTION)
def get_transaction(transaction_id: str) -> Response[str]:
    transaction_id = _path_parameter("transaction_id", transaction_id)
    txn = dependencies().store.get(transaction_id) if is_transaction_id(transaction_id) else None
    if txn is None:
        raise TransactionNotFound(transaction_id)
    return _json(200, transaction_json(txn))


def _path_parameter(name: str, routed: str) -> str:
    """A path parameter as API Gateway decoded it. REST APIs pass `path` still percent-encoded, so
    the segment the resolver routed on (``routed``) is only the fallback for events without one."""
    decoded = (app.current_event.path_parameters or {}).get(name)
    return decoded if decoded is not None else routed


def _limit(raw: str | None, settings: RuntimeSettings) -> int:
    if raw is None:
        return min(settings.page_size_default, settings.page_size_max)
    # Checked as text before int(): a limit of thousands of digits must not reach the conversion.
    if not _LIMIT_RE.fullmatch(raw) or not 1 <= int(raw) <= settings.page_size_max:
        raise p.Problem(
            p.INVALID_PARAMETER, f"limit must be a whole number from 1 to {settings.page_size_max}"
        )
    return int(raw)


@handles(routes.LIST_CUSTOMER_TRANSACTIONS)
def list_customer_transactions(customer_id: str) -> Response[str]:
    customer_id = _path_parameter("customer_id", customer_id)
    deps = dependencies()
    if not _CUSTOMER_ID_RE.fullmatch(customer_id):
        raise p.Problem(p.INVALID_PARAMETER, "customerId must be 1-64 letters, digits, '_', '.', ':' or '-'")
    query = app.current_event.query_string_parameters or {}
    limit = _limit(query.get("limit"), deps.settings)
    if deps.cursors is None:
        raise SettingsError("cursor secret is not configured")
    scope = f"customer:{customer_id}"
    cursor = query.get("cursor")
    after = deps.cursors.decode(scope, cursor) if cursor else None
    page = deps.store.list_for_customer(customer_id, limit, after)
    next_cursor = deps.cursors.encode(scope, page.next_position) if page.next_position else None
    return _json(200, {"items": [transaction_json(t) for t in page.transactions], "nextCursor": next_cursor})


@handles(routes.LIST_FILES)
def list_files() -> Response[str]:
    deps = dependencies()
    if deps.files is None or deps.cursors is None:
        raise SettingsError("the ingest bucket, the audit table or the cursor secret is not configured")
    query = app.current_event.query_string_parameters or {}
    limit = _limit(query.get("limit"), deps.settings)
    cursor = query.get("cursor")
    position = deps.cursors.decode("files", cursor) if cursor else {}
    if cursor and not position.get("token"):
        raise InvalidCursor("the cursor is not one of this listing's")
    entries, token = deps.files().page(limit, position.get("token"))
    next_cursor = deps.cursors.encode("files", {"token": token}) if token else None
    return _json(200, {"items": [e.to_json() for e in entries], "nextCursor": next_cursor})


@handles(routes.HEALTH)
def health() -> Response[str]:
    # "status" then "region", adjacent: routes.deep_health_search_string is what Route 53 looks for.
    settings = dependencies().settings
    body: Health = {"status": "pass", "region": settings.region, "version": settings.version}
    return _json(200, body, content_type=HEALTH_JSON)


@handles(routes.DEEP_HEALTH)
def deep_health() -> Response[str]:
    deps = dependencies()
    checker = deps.health
    report = checker.run()
    if not report.ok and report.age_seconds == 0:  # counted and logged once per run, not per caller
        count("DeepHealthFailed")
        logger.warning(
            "deep health failed", extra={"checks": {r.name: r.reason for r in report.results if not r.ok}}
        )
    body: Health = {
        "status": "pass" if report.ok else "fail",
        "region": checker.region,
        "version": deps.settings.version,
        "checks": {r.name: r.to_json() for r in report.results},  # type: ignore[misc]
        "checkedAt": timestamp_text(report.checked_at),
        "ageSeconds": round(report.age_seconds, 3),
    }
    return _json(200 if report.ok else 503, body, content_type=HEALTH_JSON)


@handles(routes.OPENAPI)
def openapi() -> Response[str]:
    from strongroom.runtime.openapi import document  # noqa: PLC0415 - built only when asked for

    return _json(200, document(dependencies().settings.page_size_max))


# --- errors: the one place a failure becomes HTTP ---


def _unrouted(event: APIGatewayProxyEvent) -> p.Problem:
    """404, or 405 with Allow when the path is a resource that other methods serve.

    A path the resolver did not route although an operation of the same method matches its
    template (a parameter with characters the route does not accept) does not exist: 404.
    """
    allowed = sorted({op.method for op in OPERATIONS if op.matches(event.path)})
    if not allowed or event.http_method in allowed:
        return p.Problem(p.NOT_FOUND, "no such resource")
    return p.Problem(
        p.METHOD_NOT_ALLOWED,
        f"{event.http_method} is not allowed here; use {', '.join(allowed)}",
        headers={"Allow": ", ".join(allowed)},
    )


def _to_problem(exc: Exception) -> p.Problem:  # noqa: PLR0911 - a flat table reads best
    if isinstance(exc, p.Problem):
        return exc
    if isinstance(exc, InvalidInput):
        errors = [{"field": x.field, "message": x.message} for x in exc.problems]
        return p.Problem(p.VALIDATION_ERROR, f"{len(errors)} field(s) are invalid", errors=errors)
    if isinstance(exc, MalformedBody):
        return p.Problem(p.MALFORMED_REQUEST, str(exc))
    if isinstance(exc, IdempotencyKeyReused):
        return p.Problem(
            p.IDEMPOTENCY_KEY_REUSED, "this Idempotency-Key created a different transaction; use a new key"
        )
    if isinstance(exc, TransactionNotFound):
        return p.Problem(p.NOT_FOUND, "no such transaction")
    if isinstance(exc, InvalidCursor):
        return p.Problem(p.INVALID_CURSOR, str(exc))
    if isinstance(exc, NotFoundError):
        return _unrouted(app.current_event)
    if isinstance(exc, StoreUnavailable | BotoCoreError) or (
        isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") in _RETRYABLE_AWS_CODES
    ):
        return p.Problem(
            p.SERVICE_UNAVAILABLE,
            "the transaction store is unavailable; retry with the same key",
            headers={"Retry-After": "1"},
        )
    return p.Problem(
        p.INTERNAL_ERROR, "unexpected error; it has been logged with this request's correlation id"
    )


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]
def _handle_error(exc: Exception) -> Response[str]:
    problem = _to_problem(exc)
    if problem.type.status >= 500:
        logger.exception("request failed", extra={"problem": problem.type.slug})
    else:
        logger.info("request rejected", extra={"problem": problem.type.slug, "status": problem.type.status})
        if app.current_event.http_method == "POST":
            count("TransactionRejected")
    return Response(
        problem.type.status, p.PROBLEM_CONTENT_TYPE, problem.to_json(app.current_event.path), problem.headers
    )


# --- the Lambda entry point ---


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def _handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = app.resolve(event, context)
    headers = response.setdefault("multiValueHeaders", {})
    for name, value in SECURITY_HEADERS.items():
        headers[name] = [value]
    correlation_id = logger.get_correlation_id()
    if correlation_id:
        headers["X-Correlation-Id"] = [correlation_id]
    return response


handler = traced(_handle)
