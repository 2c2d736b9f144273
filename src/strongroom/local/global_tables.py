"""Global tables in the local emulator: MRSC as one logical table, MREC as replicas kept in step from
their change streams with a lag, and faults injected on the data path — plus the client `strongroom up`
and the drills use to configure them.

In AWS both tables are DynamoDB global tables (docs/adr/0011-global-tables-streams-and-replica-keys.md).
The emulator (one moto process, requests serialised by one lock: src/strongroom/local/emulator.py) has
one backend per Region, each holding its own copy of every table. This module makes those copies
behave as a global table, as WSGI middleware inside the serialisation lock, so that a request, the
replicator and a reconfiguration never interleave:

- **strong (MRSC).** Every Region's requests for an MRSC table are served by one backing store, the
  table in the *home* Region (the first configured Region): the request's Region — the credential
  scope of its ``Authorization`` header, which is where moto reads it for a loopback endpoint — is
  rewritten to the home Region before moto sees it. A write acknowledged in one Region is therefore
  read at once, strongly consistently, in the other, and two conditional writes of one key from two
  Regions have exactly one winner (the lock makes each atomic). DynamoDB's replicas, witness and
  quorum are not modelled one by one; what is modelled is their visible effect: a Region under
  ``isolation`` or ``outage`` is cut off from the majority (the other replica and the witness still
  form one), so its writes and strongly consistent reads of MRSC tables fail with
  :data:`MINORITY_ERROR`, while its eventually consistent reads are still served (from the logical
  table, so they are never stale here, where AWS may serve the Region's stale copy).
  ``ReplicatedWriteConflictException`` never happens locally: requests are serialised.
- **eventual (MREC).** Each Region keeps its own replica (as provisioned). The replicator
  (src/strongroom/local/replication.py) follows every replica's change stream and applies each
  change to the other replicas once ``replicationLagSeconds`` have passed since it was made, last
  writer wins per item. Replication from and to a Region under ``outage`` or ``isolation`` is held,
  not dropped, and delivered when the fault clears.
- **faults.** ``data-path``: the Region's DynamoDB and DynamoDB Streams requests (every table) fail
  with HTTP 500 ``InternalServerError``. ``outage``: they fail with HTTP 503 ``ServiceUnavailable``
  (a dead Region) and the Region drops out of the majority and out of replication. ``isolation``:
  only the inter-Region effects above.

RestoreTableToPointInTime is answered for real (src/strongroom/local/point_in_time.py), configured or
not. With nothing configured and no fault set, every other request reaches moto unchanged.

The emulator answers the control routes below to loopback clients only, in JSON:
``POST|GET /strongroom-local/global-tables``, ``PUT|GET|DELETE /strongroom-local/faults/<region>``
and ``GET|DELETE /strongroom-local/faults``. :func:`configure`, :func:`set_fault`,
:func:`clear_faults` and :func:`status` call them (stdlib only: this module never imports moto at
import time, so `strongroom up` can use it without loading the emulator).
"""

from __future__ import annotations

import gzip
import io
import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from strongroom.errors import UserError
from strongroom.local.emulator import ACCOUNT_ID, LOOPBACK_CLIENTS

if TYPE_CHECKING:
    from strongroom.local.replication import Replicator

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

LOCAL_ROUTES = "/strongroom-local/"
GLOBAL_TABLES_ROUTE = "/strongroom-local/global-tables"
FAULTS_ROUTE = "/strongroom-local/faults"
CONSISTENCY_MODES = ("strong", "eventual")
FAULT_KINDS = ("outage", "isolation", "data-path")
# Faults that cut a Region off from the others: it leaves the MRSC majority and MREC replication.
CUT_OFF = frozenset({"outage", "isolation"})
MAX_LAG_SECONDS = 3600.0  # as config.py bounds STRONGROOM_REPLICATION_LAG_SECONDS

DYNAMODB_TARGET = "DynamoDB_20120810"
STREAMS_TARGET = "DynamoDBStreams_20120810"
_ERROR_NAMESPACE = "com.amazonaws.dynamodb.v20120810#"
_AMZ_JSON = "application/x-amz-json-1.0"

# The error a Region outside the MRSC majority answers writes and strongly consistent reads with.
# AWS's documentation, as far as we could check it, does not say which error code MRSC returns there;
# ServiceUnavailable (503) is our choice: a 5xx the runtime treats as retryable
# (_RETRYABLE_AWS_CODES in src/strongroom/runtime/api.py) and the SDKs retry. Revisit when a live
# MRSC table has been observed isolated (docs/adr/0029-local-global-tables.md).
MINORITY_ERROR = ("ServiceUnavailable", 503)
OUTAGE_ERROR = ("ServiceUnavailable", 503)
DATA_PATH_ERROR = ("InternalServerError", 500)

_STATUS_LINES = {
    200: "200 OK",
    400: "400 Bad Request",
    403: "403 Forbidden",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    413: "413 Content Too Large",
    500: "500 Internal Server Error",
    503: "503 Service Unavailable",
}
_MAX_CONTROL_BODY = 64 * 1024
_SCOPE = re.compile(
    r"Credential=[^/\s,]+/\d{8}/(?P<region>[^/\s,]+)/(?P<service>[^/\s,]+)/aws4_request", re.ASCII
)
_USER_AGENT_REGION = re.compile(r"region/[a-z]{2}-[a-z]+-\d")  # moto reads a Region from this first
_HOST_REGION = re.compile(r"\.[^.]+\.amazonaws\.com")
_TABLE_IN_ARN = re.compile(r":table/([^/|]+)")
_ITEM_WRITES = frozenset(
    {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems", "ExecuteTransaction"}
)


class GlobalTablesError(UserError):
    """The emulator refused or did not answer a global-tables or fault request."""


class InvalidInput(ValueError):
    """A control request the emulator refuses: ``status`` is the HTTP status, ``field`` what was wrong."""

    def __init__(self, message: str, *, field: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


# --- pure helpers -------------------------------------------------------------------------------


def request_region(authorization: str | None) -> str | None:
    """The Region a SigV4 ``Authorization`` header signs for (its credential scope); None if unsigned."""
    match = _SCOPE.search(authorization or "")
    return match.group("region") if match else None


def with_region(authorization: str, region: str) -> str:
    """``authorization`` with its credential scope's Region replaced (the signature is not re-made:
    the emulator does not verify signatures)."""
    match = _SCOPE.search(authorization)
    if match is None:
        return authorization
    start, end = match.span("region")
    return authorization[:start] + region + authorization[end:]


def table_name_of(name_or_arn: str) -> str:
    """A table's name from its name or from any ARN under it (table, index, stream, shard iterator)."""
    match = _TABLE_IN_ARN.search(name_or_arn) if name_or_arn.startswith("arn:") else None
    return match.group(1) if match else name_or_arn


def canonical_key(keys: Mapping[str, Any]) -> str:
    """One string per item key, however its attributes are ordered."""
    return json.dumps(keys, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True, order=True, slots=True)
class Version:
    """When and in which Region an item was last written. Last writer wins: a later ``time`` is newer;
    on a tie the greater Region name wins, so every replica decides alike."""

    time: float
    region: str


def supersedes(candidate: Version, current: Version | None) -> bool:
    """Whether a change made at ``candidate`` replaces what a replica last wrote at ``current``."""
    return current is None or candidate > current


def _statement_names(statements: Iterable[Any], known: Iterable[str]) -> set[str]:
    texts = [s for s in statements if isinstance(s, str)]
    return {
        name
        for name in known
        if any(re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", text) for text in texts)
    }


def tables_named(request: Mapping[str, Any], known: Iterable[str] = ()) -> set[str]:
    """The tables a DynamoDB or DynamoDB Streams request names. PartiQL statements are searched for
    the ``known`` table names only (parsing PartiQL is not worth it here)."""
    names: set[str] = set()
    for field in ("TableName", "ResourceArn", "TableArn", "StreamArn", "ShardIterator"):
        value = request.get(field)
        if isinstance(value, str):
            names.add(table_name_of(value))
    for field in ("RequestItems",):
        value = request.get(field)
        if isinstance(value, Mapping):
            names |= {table_name_of(str(name)) for name in value}
    for entry in request.get("TransactItems") or []:
        for operation in entry.values() if isinstance(entry, Mapping) else []:
            if isinstance(operation, Mapping) and isinstance(operation.get("TableName"), str):
                names.add(table_name_of(operation["TableName"]))
    statements = [request.get("Statement")]
    for field in ("Statements", "TransactStatements"):
        statements += [s.get("Statement") for s in request.get(field) or [] if isinstance(s, Mapping)]
    return names | _statement_names(statements, known)


def _partiql_needs_majority(statement: Any, consistent: Any) -> bool:
    is_read = isinstance(statement, str) and statement.lstrip()[:6].upper() == "SELECT"
    return not is_read or consistent is True


def needs_majority(operation: str, request: Mapping[str, Any]) -> bool:
    """Whether an MRSC Region must reach the majority to answer: item writes, strongly consistent
    reads and transactional reads do; eventually consistent reads and control-plane calls do not."""
    if operation in _ITEM_WRITES or operation == "TransactGetItems":
        return True
    if operation in ("GetItem", "Query", "Scan"):
        return request.get("ConsistentRead") is True
    if operation == "BatchGetItem":
        items = request.get("RequestItems") or {}
        return any(isinstance(s, Mapping) and s.get("ConsistentRead") is True for s in items.values())
    if operation == "ExecuteStatement":
        return _partiql_needs_majority(request.get("Statement"), request.get("ConsistentRead"))
    if operation == "BatchExecuteStatement":
        return any(
            _partiql_needs_majority(s.get("Statement"), s.get("ConsistentRead"))
            for s in request.get("Statements") or []
            if isinstance(s, Mapping)
        )
    return False


# --- configuration ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Configuration:
    """What is global: the Regions (the first is the MRSC home), each table's mode, the MREC lag."""

    consistency: str
    regions: tuple[str, ...]
    tables: tuple[tuple[str, str], ...]  # (table name, "strong" | "eventual"), sorted by name
    lag_seconds: float

    @property
    def home(self) -> str:
        return self.regions[0]

    def mode(self, table: str) -> str | None:
        return dict(self.tables).get(table)

    @property
    def table_names(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.tables)

    def tables_in(self, mode: str) -> frozenset[str]:
        return frozenset(name for name, m in self.tables if m == mode)


def _consistency(value: Any, field: str) -> str:
    if value not in CONSISTENCY_MODES:
        raise InvalidInput(
            f"{field} must be one of: {', '.join(CONSISTENCY_MODES)} (got {value!r})", field=field
        )
    return str(value)


def _regions(value: Any, consistency: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(r, str) and r for r in value):
        raise InvalidInput(
            "regions must be a list of Region names, such as ['eu-west-1', 'eu-central-1']", field="regions"
        )
    if len(set(value)) != len(value) or len(value) < 2:
        raise InvalidInput(
            f"regions must name at least two different Regions (got {value!r})", field="regions"
        )
    if consistency == "strong" and len(value) != 2:
        raise InvalidInput(
            "regions: strong consistency (MRSC) has exactly two replica Regions and a witness "
            f"(got {value!r})",
            field="regions",
        )
    return tuple(value)


def _tables(value: Any, consistency: str) -> tuple[tuple[str, str], ...]:
    if isinstance(value, list) and value and all(isinstance(t, str) and t for t in value):
        pairs = {name: consistency for name in value}
    elif isinstance(value, Mapping) and value and all(isinstance(t, str) and t for t in value):
        pairs = {name: _consistency(mode, f"tables.{name}") for name, mode in value.items()}
    else:
        raise InvalidInput(
            "tables must be a non-empty list of table names, or an object mapping each table name to its "
            "consistency (strong or eventual)",
            field="tables",
        )
    if "strong" in pairs.values() and consistency != "strong":
        raise InvalidInput("tables: a table can be strong only when consistency is strong", field="tables")
    return tuple(sorted(pairs.items()))


def _lag(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_LAG_SECONDS:
        raise InvalidInput(
            f"replicationLagSeconds must be a number of seconds from 0 to {MAX_LAG_SECONDS:.0f} "
            f"(got {value!r})",
            field="replicationLagSeconds",
        )
    return float(value)


def parse_configuration(document: Any) -> Configuration:
    """The configuration a ``POST /strongroom-local/global-tables`` body asks for, or InvalidInput."""
    if not isinstance(document, Mapping):
        raise InvalidInput(
            "the body must be a JSON object with consistency, regions, tables, replicationLagSeconds"
        )
    unknown = sorted(set(document) - {"consistency", "regions", "tables", "replicationLagSeconds"})
    if unknown:
        raise InvalidInput(
            f"unknown field {unknown[0]!r}; the fields are consistency, regions, tables and "
            "replicationLagSeconds",
            field=unknown[0],
        )
    consistency = _consistency(document.get("consistency"), "consistency")
    return Configuration(
        consistency=consistency,
        regions=_regions(document.get("regions"), consistency),
        tables=_tables(document.get("tables"), consistency),
        lag_seconds=_lag(document.get("replicationLagSeconds", 1.0)),
    )


def parse_fault(document: Any) -> str:
    """The fault a ``PUT /strongroom-local/faults/<region>`` body asks for, or InvalidInput."""
    fault = document.get("fault") if isinstance(document, Mapping) else None
    if fault not in FAULT_KINDS:
        raise InvalidInput(f"fault must be one of: {', '.join(FAULT_KINDS)} (got {fault!r})", field="fault")
    return str(fault)


# --- WSGI plumbing ------------------------------------------------------------------------------


def _reply(
    start_response: Callable[..., Any],
    status: int,
    document: Any,
    *,
    content_type: str = "application/json",
    headers: Sequence[tuple[str, str]] = (),
) -> list[bytes]:
    body = json.dumps(document, default=_json_default).encode()
    start_response(
        _STATUS_LINES.get(status, f"{status} Error"),
        [("Content-Type", content_type), ("Content-Length", str(len(body))), *headers],
    )
    return [body]


def _json_default(value: Any) -> Any:
    from datetime import UTC, datetime  # noqa: PLC0415 - only responses that carry a timestamp need it

    if isinstance(value, datetime):  # moto keeps naive UTC; the JSON protocol sends epoch seconds
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dynamodb_error(start_response: Callable[..., Any], code: str, status: int, message: str) -> list[bytes]:
    """A DynamoDB JSON error as botocore parses it: the code after the ``#`` of ``__type``."""
    return _reply(
        start_response,
        status,
        {"__type": _ERROR_NAMESPACE + code, "message": message},
        content_type=_AMZ_JSON,
        headers=[("x-amzn-RequestId", uuid.uuid4().hex)],
    )


def _read_body(environ: dict[str, Any]) -> bytes:
    """The request body, read once and put back for moto."""
    stream = environ.get("wsgi.input")
    length = environ.get("CONTENT_LENGTH")
    if stream is None:
        return b""
    if length:
        body: bytes = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _json_body(environ: dict[str, Any]) -> Any:
    body = _read_body(environ)
    try:
        if environ.get("HTTP_CONTENT_ENCODING") == "gzip":
            body = gzip.decompress(body)
        return json.loads(body or b"{}")
    except (ValueError, OSError, EOFError):
        return None


def _rewrite_region(environ: dict[str, Any], region: str) -> None:
    """Make moto serve the request from ``region``'s backend, wherever moto would read the Region."""
    authorization = environ.get("HTTP_AUTHORIZATION")
    if authorization:
        environ["HTTP_AUTHORIZATION"] = with_region(authorization, region)
    agent = environ.get("HTTP_USER_AGENT")
    if agent and _USER_AGENT_REGION.search(agent):
        environ["HTTP_USER_AGENT"] = _USER_AGENT_REGION.sub(f"region/{region}", agent)
    host = environ.get("HTTP_HOST")
    if host and _HOST_REGION.search(host):
        environ["HTTP_HOST"] = _HOST_REGION.sub(f".{region}.amazonaws.com", host, count=1)


def _captured(app: WSGIApp, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
        captured.update(status=status, headers=headers)

    body = b"".join(app(environ, start_response))
    return captured["status"], list(captured["headers"]), body


# --- the emulator side --------------------------------------------------------------------------


class GlobalTables:
    """Global-table semantics and faults for the emulator's moto app (see the module docstring).

    Every method runs with ``lock`` held (the emulator's serialisation lock): the middleware is
    installed inside it, and the replicator thread takes it for each poll.
    """

    def __init__(
        self,
        lock: threading.Lock,
        *,
        account_id: str = ACCOUNT_ID,
        poll_seconds: float = 0.025,
        clock: Callable[[], float] = time.time,  # wall clock: moto stamps stream records with it
    ) -> None:
        self._lock = lock
        self._account_id = account_id
        self._poll_seconds = poll_seconds
        self._clock = clock
        self._configuration: Configuration | None = None
        self._faults: dict[str, str] = {}
        self._replicator: Replicator | None = None
        self._thread: threading.Thread | None = None
        self._replicator_error: str | None = None

    def middleware(self, app: WSGIApp) -> WSGIApp:
        def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            path: str = environ.get("PATH_INFO", "")
            if path.startswith(LOCAL_ROUTES):
                return self._control(environ, start_response)
            target: str = environ.get("HTTP_X_AMZ_TARGET", "")
            service, _, operation = target.partition(".")
            if service in (DYNAMODB_TARGET, STREAMS_TARGET) and operation:
                return self._data_path(app, environ, start_response, service, operation)
            return app(environ, start_response)

        return wsgi

    # --- control routes --------------------------------------------------------------------------

    def _control(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if environ.get("REMOTE_ADDR") not in LOOPBACK_CLIENTS:
            return _reply(start_response, 403, {"message": "loopback clients only"})
        try:
            status, document = self._route_control(environ["REQUEST_METHOD"], environ["PATH_INFO"], environ)
        except InvalidInput as exc:
            status, document = exc.status, {"message": str(exc), "field": exc.field}
        return _reply(start_response, status, document)

    def _route_control(self, method: str, path: str, environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if path == GLOBAL_TABLES_ROUTE:
            if method == "POST":
                self.configure(parse_configuration(self._control_body(environ)))
            elif method != "GET":
                raise InvalidInput(f"{path} answers GET and POST", status=405)
            return 200, self.status()
        if path == FAULTS_ROUTE:
            if method == "DELETE":
                self._faults.clear()
            elif method != "GET":
                raise InvalidInput(f"{path} answers GET and DELETE", status=405)
            return 200, self._faults_document()
        if path.startswith(FAULTS_ROUTE + "/") and "/" not in path.removeprefix(FAULTS_ROUTE + "/"):
            return self._route_fault(method, path.removeprefix(FAULTS_ROUTE + "/"), environ)
        raise InvalidInput(
            f"no route {path}; the routes are {GLOBAL_TABLES_ROUTE}, {FAULTS_ROUTE} and "
            f"{FAULTS_ROUTE}/<region>",
            status=404,
        )

    def _route_fault(self, method: str, region: str, environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self._check_region(region)
        if method == "PUT":
            self._faults[region] = parse_fault(self._control_body(environ))
        elif method == "DELETE":
            self._faults.pop(region, None)
        elif method != "GET":
            raise InvalidInput(f"{FAULTS_ROUTE}/<region> answers GET, PUT and DELETE", status=405)
        return 200, self._faults_document()

    def _control_body(self, environ: dict[str, Any]) -> Any:
        length = environ.get("CONTENT_LENGTH") or "0"
        if not length.isdigit() or int(length) > _MAX_CONTROL_BODY:
            raise InvalidInput(
                f"the body must be a JSON object of at most {_MAX_CONTROL_BODY} bytes", status=413
            )
        try:
            return json.loads(environ["wsgi.input"].read(int(length)) or b"{}")
        except ValueError:
            raise InvalidInput("the body is not JSON") from None

    def _check_region(self, region: str) -> None:
        if self._configuration is not None:
            if region not in self._configuration.regions:
                raise InvalidInput(
                    f"unknown region {region!r}; the configured Regions are "
                    f"{', '.join(self._configuration.regions)}",
                    field="region",
                    status=404,
                )
            return
        from moto.dynamodb.models import dynamodb_backends  # noqa: PLC0415 - the emulator process only

        if region not in dynamodb_backends[self._account_id]:
            raise InvalidInput(
                f"unknown region {region!r}: not a Region DynamoDB has", field="region", status=404
            )

    def _faults_document(self) -> dict[str, Any]:
        regions = self._configuration.regions if self._configuration else ()
        return {"faults": {**{region: None for region in regions}, **self._faults}}

    def configure(self, configuration: Configuration) -> None:
        """Apply ``configuration`` (the same one again changes nothing). A different one replaces the
        current one: MREC changes not yet delivered for a table or Region no longer replicated are
        dropped; what each replica's stream was already read up to is kept, so no change is sent twice."""
        if configuration == self._configuration:
            return
        from strongroom.local.replication import Replicator, check_replicas  # noqa: PLC0415 - moto

        problem = check_replicas(self._account_id, configuration)
        if problem:
            raise InvalidInput(problem, field="tables")
        self._configuration = configuration
        if self._replicator is None:
            self._replicator = Replicator(self._account_id, clock=self._clock)
        self._replicator.reconfigure(
            configuration.regions, sorted(configuration.tables_in("eventual")), configuration.lag_seconds
        )
        if self._thread is None and configuration.tables_in("eventual"):
            self._thread = threading.Thread(target=self._replicate, name="mrec-replicator", daemon=True)
            self._thread.start()

    def _replicate(self) -> None:
        """The replicator thread: one poll every ``poll_seconds``, under the emulator's lock. A poll reads
        only the stream records added since the last one, so an idle poll costs microseconds."""
        while True:
            time.sleep(self._poll_seconds)
            with self._lock:
                try:
                    if self._replicator is not None:
                        self._replicator.poll(self._held())
                    self._replicator_error = None
                except Exception as exc:  # a bad poll must not end replication; the status shows it
                    self._replicator_error = f"{type(exc).__name__}: {exc}"

    def _held(self) -> frozenset[str]:
        return frozenset(region for region, fault in self._faults.items() if fault in CUT_OFF)

    def status(self) -> dict[str, Any]:
        """The configuration, the faults, and MREC replication per direction."""
        configuration = self._configuration
        document: dict[str, Any] = {
            "configured": configuration is not None,
            "consistency": configuration.consistency if configuration else None,
            "regions": list(configuration.regions) if configuration else [],
            "homeRegion": configuration.home if configuration and configuration.tables_in("strong") else None,
            "tables": dict(configuration.tables) if configuration else {},
            "replicationLagSeconds": configuration.lag_seconds if configuration else None,
            **self._faults_document(),
            "replication": {},
            "replicatorError": self._replicator_error,
        }
        if self._replicator is not None:
            document["replication"] = self._replicator.status(self._held())
        return document

    # --- the data path ---------------------------------------------------------------------------

    def _data_path(
        self,
        app: WSGIApp,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        service: str,
        operation: str,
    ) -> Iterable[bytes]:
        region = request_region(environ.get("HTTP_AUTHORIZATION"))
        if region is None:  # unsigned: moto serves it from its default Region, as before
            return app(environ, start_response)
        failed = self._failed(region, start_response)
        if failed is not None:
            return failed
        if service == DYNAMODB_TARGET and operation == "RestoreTableToPointInTime":
            return self._restore(environ, start_response, region)
        if self._configuration is None and operation != "DescribeContinuousBackups":
            return app(environ, start_response)
        request = _json_body(environ)
        if not isinstance(request, Mapping):
            return app(environ, start_response)  # moto answers what it cannot parse
        return self._route(app, environ, start_response, operation=operation, region=region, request=request)

    def _failed(self, region: str, start_response: Callable[..., Any]) -> list[bytes] | None:
        """The error a Region whose data path is down answers every DynamoDB request with, if it is."""
        fault = self._faults.get(region)
        if fault == "data-path":
            code, status = DATA_PATH_ERROR
            message = f"DynamoDB in {region} fails every request (data-path fault)"
        elif fault == "outage":
            code, status = OUTAGE_ERROR
            message = f"DynamoDB in {region} is unavailable (outage)"
        else:
            return None
        return dynamodb_error(start_response, code, status, message)

    def _route(
        self,
        app: WSGIApp,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        *,
        operation: str,
        region: str,
        request: Mapping[str, Any],
    ) -> Iterable[bytes]:
        configuration = self._configuration
        known = configuration.table_names if configuration else frozenset()
        names = tables_named(request, known)
        served_by = region
        if configuration is not None and region in configuration.regions:
            strong = names & configuration.tables_in("strong")
            if strong and strong != names:
                return dynamodb_error(
                    start_response,
                    "ValidationException",
                    400,
                    "the local emulator serves MRSC tables from one store and cannot combine them with other "
                    f"tables in one request ({', '.join(sorted(names))}); send one request per table",
                )
            if strong and self._faults.get(region) in CUT_OFF and needs_majority(operation, request):
                code, status = MINORITY_ERROR
                return dynamodb_error(
                    start_response,
                    code,
                    status,
                    f"{region} is isolated from the replication majority of {', '.join(sorted(strong))} "
                    "(multi-Region strong consistency): writes and strongly consistent reads fail here until "
                    "it rejoins; eventually consistent reads are still served",
                )
            if strong and operation != "DescribeTable" and region != configuration.home:
                served_by = configuration.home
                _rewrite_region(environ, served_by)
        if operation == "DescribeContinuousBackups":
            self._refresh_latest_restorable(served_by, names)
        if (
            operation == "DescribeTable"
            and configuration
            and region in configuration.regions
            and names & known
        ):
            return self._describe_table(app, environ, start_response, next(iter(names)), region)
        return app(environ, start_response)

    def _describe_table(
        self,
        app: WSGIApp,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        table: str,
        region: str,
    ) -> list[bytes]:
        """The Region's own replica described (its ARN, stream and key, as in AWS), with the global
        table's consistency mode and, under MRSC, the logical table's item count."""
        assert self._configuration is not None
        status, headers, body = _captured(app, environ)
        if not status.startswith("200"):
            start_response(status, headers)
            return [body]
        document = json.loads(body)
        mode = self._configuration.mode(table) or "eventual"
        document["Table"]["MultiRegionConsistency"] = mode.upper()
        if mode == "strong" and region in self._configuration.regions:
            from moto.dynamodb.models import dynamodb_backends  # noqa: PLC0415 - the emulator process only

            logical = dynamodb_backends[self._account_id][self._configuration.home].tables.get(table)
            if logical is not None:
                document["Table"]["ItemCount"] = len(logical)
        body = json.dumps(document).encode()
        replaced = {"content-length": str(len(body)), "x-amz-crc32": str(zlib.crc32(body) & 0xFFFFFFFF)}
        headers = [(k, replaced.get(k.lower(), v)) for k, v in headers]
        start_response(status, headers)
        return [body]

    def _refresh_latest_restorable(self, region: str, names: set[str]) -> None:
        """moto keeps LatestRestorableDateTime at the moment PITR was enabled; locally it is now."""
        from moto.dynamodb.models import dynamodb_backends  # noqa: PLC0415 - the emulator process only

        backend = dynamodb_backends[self._account_id][region]
        for name in names:
            table = backend.tables.get(name)
            description = table.continuous_backups["PointInTimeRecoveryDescription"] if table else {}
            if description.get("PointInTimeRecoveryStatus") == "ENABLED":
                description["LatestRestorableDateTime"] = self._clock()

    def _restore(
        self, environ: dict[str, Any], start_response: Callable[..., Any], region: str
    ) -> list[bytes]:
        from strongroom.local.point_in_time import RestoreRefused, restore  # noqa: PLC0415 - moto

        request = _json_body(environ)
        if not isinstance(request, Mapping):
            return dynamodb_error(
                start_response, "SerializationException", 400, "the body is not a JSON object"
            )
        try:
            document = restore(
                self._account_id, region, request, source_region=self._source_region, now=self._clock()
            )
        except RestoreRefused as exc:
            return dynamodb_error(start_response, exc.code, 400, str(exc))
        return _reply(start_response, 200, document, content_type=_AMZ_JSON)

    def _source_region(self, table: str, region: str) -> str:
        """Which backend holds ``table`` as seen from ``region``: under MRSC, the one logical table."""
        configuration = self._configuration
        if configuration and configuration.mode(table) == "strong" and region in configuration.regions:
            return configuration.home
        return region


# --- the client, for `strongroom up`, the fault controller and the drills ------------------------


def _call(endpoint: str, method: str, path: str, body: Any, *, what: str, timeout: float) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - the emulator's loopback URL
        endpoint + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310
            document: dict[str, Any] = json.loads(reply.read())
            return document
    except urllib.error.HTTPError as exc:
        try:
            message = str(json.loads(exc.read()).get("message") or "")
        except ValueError:
            message = ""
        raise GlobalTablesError(
            f"the emulator refused to {what} ({exc.code}): {message or 'no reason given'}"
        ) from None
    except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
        raise GlobalTablesError(
            f"the emulator at {endpoint} did not answer when asked to {what} ({exc}); is it running?"
        ) from None


def configure(
    endpoint: str,
    *,
    consistency: str,
    regions: Sequence[str],
    tables: Sequence[str] | Mapping[str, str],
    lag_seconds: float,
    timeout: float = 10.0,
) -> dict[str, Any]:
    """Make ``tables`` global across ``regions`` in the emulator at ``endpoint``; returns the status.

    ``tables`` is a list of names (each with ``consistency``) or a mapping of name to its own mode
    (under ``consistency="strong"`` a table can still be ``"eventual"``, as the audit table is: ADR
    0011). The first Region is the MRSC home. Configuring again with the same values changes nothing.
    """
    document = {
        "consistency": consistency,
        "regions": list(regions),
        "tables": dict(tables) if isinstance(tables, Mapping) else list(tables),
        "replicationLagSeconds": lag_seconds,
    }
    return _call(
        endpoint, "POST", GLOBAL_TABLES_ROUTE, document, what="configure global tables", timeout=timeout
    )


def set_fault(endpoint: str, region: str, fault: str, *, timeout: float = 10.0) -> dict[str, Any]:
    """Inject ``fault`` (outage, isolation or data-path) in ``region``'s data path; returns the faults."""
    path = f"{FAULTS_ROUTE}/{quote(region, safe='')}"
    return _call(
        endpoint, "PUT", path, {"fault": fault}, what=f"set the {fault} fault in {region}", timeout=timeout
    )


def clear_faults(endpoint: str, region: str | None = None, *, timeout: float = 10.0) -> dict[str, Any]:
    """Clear ``region``'s fault, or every Region's; returns the faults."""
    if region is None:
        return _call(endpoint, "DELETE", FAULTS_ROUTE, None, what="clear every fault", timeout=timeout)
    path = f"{FAULTS_ROUTE}/{quote(region, safe='')}"
    return _call(endpoint, "DELETE", path, None, what=f"clear the fault in {region}", timeout=timeout)


def status(endpoint: str, *, timeout: float = 10.0) -> dict[str, Any]:
    """The emulator's global-tables configuration, faults and replication status."""
    return _call(
        endpoint, "GET", GLOBAL_TABLES_ROUTE, None, what="report the global tables' status", timeout=timeout
    )
