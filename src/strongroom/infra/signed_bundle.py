"""Where a Region's signed Lambda bundle is, as the CDK context names it for a deploy.

With a code-signing configuration in Enforce mode, Lambda refuses an unsigned zip, and the assets
``cdk deploy`` uploads are unsigned. So a deploy names, per Region, the object AWS Signer wrote into
that Region's artifacts bucket: context ``strongroom:signed-bundle:<region>`` =
``s3://<bucket>/<key>@<version id>``, or ``strongroom:signed-bundle`` = a mapping (or its JSON) of
Region → that same form, or one such URI, which applies to the Region its bucket is named for (the
artifacts buckets are ``<prefix>-artifacts-<region>-<account>``) and to no other. Without it (local
synth, tests) the functions keep the local asset, with the code-signing configuration still
attached: the template is what production deploys, and a deploy of it fails loudly instead of running
unsigned code (docs/adr/0039-signed-code-and-canary-releases.md).
No CDK import: the deploy tooling builds the same value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

SIGNED_BUNDLE_CONTEXT = "strongroom:signed-bundle"
# S3 bucket names (3-63 lowercase letters, digits, dots, hyphens); a key; a version id (S3's are opaque
# URL-safe strings, never "null" here: Signer writes only to versioned buckets).
_URI_RE = re.compile(
    r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>[^@]+)@(?P<version>[^@\s]+)$"
)


@dataclass(frozen=True, slots=True)
class SignedBundle:
    bucket: str
    key: str
    version: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}@{self.version}"

    @classmethod
    def parse(cls, value: str) -> SignedBundle:
        match = _URI_RE.match(value.strip())
        if match is None or match["version"] == "null":
            raise ValueError(
                f"{value!r} is not s3://<bucket>/<key>@<version id> (the signed object AWS Signer wrote, "
                "with its S3 version id)"
            )
        return cls(match["bucket"], match["key"], match["version"])


def signed_bundle_context_key(region: str) -> str:
    return f"{SIGNED_BUNDLE_CONTEXT}:{region}"


def signed_bundle_for(region: str, context: Callable[[str], Any]) -> SignedBundle | None:
    """The Region's signed bundle from ``context`` (``node.try_get_context``), or None when none is
    given. ValueError, naming the context key, when one is given but malformed."""
    own = context(signed_bundle_context_key(region))
    if own is not None:
        return _parsed(own, signed_bundle_context_key(region))
    shared = context(SIGNED_BUNDLE_CONTEXT)
    if shared is None:
        return None
    if isinstance(shared, str) and shared.strip().startswith("s3://"):
        bundle = _parsed(shared, SIGNED_BUNDLE_CONTEXT)
        return bundle if f"-{region}-" in f"{bundle.bucket}-" else None
    if isinstance(shared, str):
        try:
            shared = json.loads(shared)
        except json.JSONDecodeError:
            raise ValueError(
                f"{SIGNED_BUNDLE_CONTEXT} must map each Region to s3://<bucket>/<key>@<version>, "
                f'e.g. {{"{region}": "s3://…"}}; or set {signed_bundle_context_key(region)}'
            ) from None
    if not isinstance(shared, Mapping):
        raise ValueError(f"{SIGNED_BUNDLE_CONTEXT} must map each Region to s3://<bucket>/<key>@<version>")
    value = shared.get(region)
    return None if value is None else _parsed(value, f"{SIGNED_BUNDLE_CONTEXT}[{region}]")


def _parsed(value: Any, where: str) -> SignedBundle:
    try:
        return SignedBundle.parse(str(value))
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
