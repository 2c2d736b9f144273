"""A small SigV4-signing HTTP client for the local gateway, discovery of a running platform, and the
multi-Region `strongroom.client` client built from its local.json."""

from __future__ import annotations

import http.client
import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import botocore.credentials

from strongroom import constants as env
from strongroom.client import StrongroomClient
from strongroom.local.sigv4 import Credentials, Headers, sign

STATE_FILE = "local.json"


def state_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where `strongroom up` writes local.json: argument, then STRONGROOM_STATE_DIR, then ./.strongroom."""
    return Path(explicit or os.environ.get(env.ENV_LOCAL_STATE_DIR) or ".strongroom")


@dataclass(frozen=True)
class HttpReply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class SignedClient:
    base_url: str
    region: str
    credentials: Credentials | None
    timeout: float = 30.0

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: Headers | None = None,
        raw: bytes | None = None,
    ) -> HttpReply:
        """Send one request; ``headers`` may be (name, value) pairs to repeat a header."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        given = list(headers.items() if isinstance(headers, Mapping) else headers or [])
        if data and not any(name.lower() == "content-type" for name, _ in given):
            given.insert(0, ("Content-Type", "application/json"))
        url = self.base_url + path
        if self.credentials is not None:
            given = sign(
                method=method,
                url=url,
                headers=given,
                body=data,
                credentials=self.credentials,
                region=self.region,
            )
        parts = urlsplit(self.base_url)
        connection = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=self.timeout
        )
        try:
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            if not any(name.lower() == "host" for name, _ in given):
                connection.putheader("Host", parts.netloc)
            for name, value in given:
                connection.putheader(name, value)
            sends_length = any(name.lower() == "content-length" for name, _ in given)
            if not sends_length and (data or method.upper() in {"POST", "PUT", "PATCH"}):
                connection.putheader("Content-Length", str(len(data)))
            connection.endheaders(data or None)
            response = connection.getresponse()
            return HttpReply(response.status, {k: v for k, v in response.getheaders()}, response.read())
        finally:
            connection.close()

    def unsigned(self) -> SignedClient:
        return SignedClient(self.base_url, self.region, None, self.timeout)


def read_state(directory: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    path = state_dir(directory) / STATE_FILE
    try:
        document: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path} not found: start the platform with `strongroom up` (or `make run`)"
        ) from None
    return document


def emulator_client(state: Mapping[str, Any], service: str, region: str) -> Any:
    """A boto3 client for ``service`` in ``region`` of the running platform's emulator (it checks no
    key, so tools sign with a placeholder)."""
    import boto3  # noqa: PLC0415 - only callers of this helper pay for boto3's import

    session = boto3.session.Session(
        aws_access_key_id="local-tools",
        aws_secret_access_key="local-tools",  # noqa: S106 - the emulator checks no key
        region_name=region,
    )
    return session.client(service, endpoint_url=state["emulator"])  # type: ignore[call-overload]


def static_credentials(state: Mapping[str, Any]) -> Credentials:
    """The long-term local credentials (an IAM user's) from a local.json document."""
    return Credentials(state["credentials"]["accessKeyId"], state["credentials"]["secretAccessKey"])


def clients(directory: str | os.PathLike[str] | None = None) -> dict[str, SignedClient]:
    """A signed client per Region of the running platform, from its local.json."""
    state = read_state(directory)
    credentials = static_credentials(state)
    return {name: SignedClient(region["url"], name, credentials) for name, region in state["regions"].items()}


def assume_caller_role(
    state: Mapping[str, Any], session_name: str | None = None, *, duration_seconds: int = 900
) -> Credentials:
    """Temporary credentials for a new session of the local caller role (``callerRole`` in
    local.json), from the emulator's STS, signed for with the static local credentials."""
    import boto3  # noqa: PLC0415 - only callers of this helper pay for boto3's import

    static = static_credentials(state)
    sts = boto3.session.Session(
        aws_access_key_id=static.access_key_id,
        aws_secret_access_key=static.secret_access_key,
        region_name=next(iter(state["regions"])),
    ).client("sts", endpoint_url=state["emulator"])
    issued = sts.assume_role(
        RoleArn=state["callerRole"],
        RoleSessionName=session_name or f"local-{uuid.uuid4().hex[:12]}",
        DurationSeconds=duration_seconds,
    )["Credentials"]
    return Credentials(issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"])


def session_client(
    state: Mapping[str, Any], region: str | None = None, session_name: str | None = None
) -> SignedClient:
    """A client for ``region`` (the first if None) signing with a fresh AssumeRole session of the
    caller role: what an SDK on AWS compute signs with. Each call is a new session."""
    name = region or next(iter(state["regions"]))
    return SignedClient(state["regions"][name]["url"], name, assume_caller_role(state, session_name))


def botocore_credentials(credentials: Credentials) -> botocore.credentials.Credentials:
    """The same key (and session token) as botocore credentials, which `strongroom.client` signs with."""
    return botocore.credentials.Credentials(
        credentials.access_key_id, credentials.secret_access_key, credentials.session_token
    )


def platform_client(
    state: Mapping[str, Any], credentials: Credentials | None = None, **options: Any
) -> StrongroomClient:
    """A `strongroom.client.StrongroomClient` for every Region of the running platform, in the order
    `strongroom up` serves them, signing with ``credentials`` (default: the static local ones).
    ``options`` are StrongroomClient's keyword arguments (timeouts, deadline, breaker, clock...)."""
    endpoints = {name: region["url"] for name, region in state["regions"].items()}
    return StrongroomClient(
        endpoints, botocore_credentials(credentials or static_credentials(state)), **options
    )
