"""A Region's artifacts stack: the bucket signed Lambda bundles live in and the AWS Signer profile that
signs them, deployed after the Region's keys and before its platform stack, whose functions run only
code that profile signed (docs/adr/0039-signed-code-and-canary-releases.md).

Its own stack because signing comes between the two: the bundle is uploaded and signed once the bucket
and the profile exist, and the platform stack is then deployed naming the signed object.
"""

from __future__ import annotations

from constructs import Construct

from strongroom.config import PlatformConfig, RegionConfig
from strongroom.infra.constructs.delivery import ArtifactStore
from strongroom.infra.guardrails import signing_profile
from strongroom.infra.stacks._base import StrongroomStack, named_output
from strongroom.infra.stacks.keys import KeyStack

BUCKET_OUTPUT = "ArtifactsBucket"
SIGNING_PROFILE_OUTPUT = "SigningProfile"


def artifacts_bucket_name(config: PlatformConfig, region: str, account: str) -> str:
    """Bucket names are global: the account makes it unique."""
    return f"{config.names.prefix}-artifacts-{region}-{account}"


class ArtifactsStack(StrongroomStack):
    """Attributes: ``store`` (:class:`ArtifactStore`)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PlatformConfig,
        region: RegionConfig,
        keys: KeyStack,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            region=region.name,
            description=f"Strongroom artifacts ({region.name}): signed Lambda bundles and their signer",
        )
        self.store = ArtifactStore(
            self,
            "Artifacts",
            key=keys.keys.key("pipeline"),
            bucket_name=artifacts_bucket_name(config, region.name, self.account),
            signing_profile_name=signing_profile(config),
            noncurrent_version_days=config.retention.log_days,
        )
        # What the deploy tooling reads: where to upload and sign (docs/adr/0039).
        for output_id, value in (
            (BUCKET_OUTPUT, self.store.bucket.bucket_name),
            (SIGNING_PROFILE_OUTPUT, self.store.signing_profile.signing_profile_name),
        ):
            named_output(self, output_id, value)
