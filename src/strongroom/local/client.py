"""A small SigV4-signing HTTP client for the local gateway, and discovery of a running platform."""

from __future__ import annotations

import http.client
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from strongroom import constants as env
from strongroom.local.sigv4 import Credentials, sign

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
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> HttpReply:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        all_headers = {"Content-Type": "application/json", **(headers or {})} if data else dict(headers or {})
        url = self.base_url + path
        if self.credentials is not None:
            all_headers = sign(
                method=method,
                url=url,
                headers=all_headers,
                body=data,
                credentials=self.credentials,
                region=self.region,
            )
        parts = urlsplit(self.base_url)
        connection = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=self.timeout
        )
        try:
            connection.request(method, path, body=data or None, headers=all_headers)
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


def clients(directory: str | os.PathLike[str] | None = None) -> dict[str, SignedClient]:
    """A signed client per Region of the running platform, from its local.json."""
    state = read_state(directory)
    credentials = Credentials(state["credentials"]["accessKeyId"], state["credentials"]["secretAccessKey"])
    return {name: SignedClient(region["url"], name, credentials) for name, region in state["regions"].items()}
