"""Compliance gates run at synth: the cdk-nag packs, the resource-wildcard gate, and the report of
findings and acknowledgements.

cdk-nag 3 runs as CDK policy-validation plugins: an unacknowledged error or warning fails synthesis,
and CDK writes ``validation-report.json``. The resource-wildcard gate is one more plugin: a wildcard
resource that policies/resource-wildcards.json does not allow fails synthesis, whatever cdk-nag was
told (``strongroom.infra.wildcards``). Acknowledgements (``Validations.of(x).acknowledge``) are
written into each template's resource metadata (``cdk_nag.rules_to_suppress``) and into
``compliance/nag-report.json`` together with their reasons, so every exception is on the record.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import (
    App,
    IPolicyValidationContext,
    IPolicyValidationPlugin,
    PolicyValidationPluginReport,
    PolicyViolatingResource,
    PolicyViolation,
    Validations,
)
from cdk_nag import (
    AwsSolutionsChecks,
    HIPAASecurityChecks,
    NagPack,
    NIST80053R5Checks,
    PCIDSS321Checks,
    ServerlessChecks,
)
from constructs import IConstruct

from strongroom.infra import wildcards

PACKS = ("AwsSolutions", "NIST.800.53.R5", "PCI.DSS.321", "HIPAA.Security", "Serverless")
REPORT = Path("compliance") / "nag-report.json"


@jsii.implements(IPolicyValidationPlugin)
class RecordedPack:
    """A nag pack whose result is kept: CDK's report omits plugins that found nothing, and a gate must
    be able to show that each pack ran, not merely that nothing was reported."""

    def __init__(self, pack: NagPack) -> None:
        self._pack = pack
        self.ran = False
        self.violations: list[dict[str, Any]] = []

    @property
    def pack(self) -> NagPack:
        return self._pack

    @property
    def name(self) -> str:
        return self._pack.read_pack_name

    @property
    def version(self) -> str | None:
        return None

    @property
    def rule_ids(self) -> list[str] | None:
        return None

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        report: PolicyValidationPluginReport = self._pack.validate(context)
        self.ran = True
        self.violations = [
            {
                "rule": violation.rule_name,
                "severity": violation.severity or "unknown",
                "resources": [r.construct_path for r in violation.violating_resources],
            }
            for violation in report.violations
        ]
        return report


@jsii.implements(IPolicyValidationPlugin)
class ResourceWildcardGate:
    """Fails synthesis on every wildcard resource in an IAM or VPC-endpoint policy that the allow-list
    (policies/resource-wildcards.json) does not cover; the report names each role, policy or endpoint,
    the statement and the resource. ``findings`` keeps what the last run found."""

    RULE = "Strongroom-ResourceWildcard"

    def __init__(self, allow_list: Path | None = None) -> None:
        self._allowed = wildcards.load_allow_list(allow_list)
        self.findings: list[wildcards.Finding] = []

    @property
    def name(self) -> str:
        return "strongroom-resource-wildcards"

    @property
    def version(self) -> str | None:
        return None

    @property
    def rule_ids(self) -> list[str] | None:
        return [self.RULE]

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        violations, self.findings = [], []
        for template_path in context.template_paths:
            template = json.loads(Path(template_path).read_text())
            for finding in wildcards.findings(template, self._allowed, Path(template_path).name):
                self.findings.append(finding)
                violations.append(
                    PolicyViolation(
                        rule_name=self.RULE,
                        description=str(finding),
                        severity="error",
                        fix="Name the resources, or add the statement to policies/resource-wildcards.json "
                        "with its reason and ADR.",
                        violating_resources=[
                            PolicyViolatingResource(
                                locations=[finding.location],
                                resource_logical_id=finding.logical_id,
                                template_path=template_path,
                            )
                        ],
                    )
                )
        return PolicyValidationPluginReport(success=not violations, violations=violations)


def register_packs(app: App) -> list[RecordedPack]:
    """Every pack on the whole app (acknowledgements are copied into the templates by the first), and
    the resource-wildcard gate."""
    packs = [
        RecordedPack(AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True)),
        RecordedPack(NIST80053R5Checks(app, verbose=True)),
        RecordedPack(PCIDSS321Checks(app, verbose=True)),
        RecordedPack(HIPAASecurityChecks(app, verbose=True)),
        RecordedPack(ServerlessChecks(app, verbose=True)),
    ]
    Validations.of(app).add_plugins(*packs, ResourceWildcardGate())
    return packs


def acknowledgements(root: IConstruct) -> list[dict[str, str]]:
    """Every acknowledgement in the construct tree: where, which rule, and why."""
    found = []
    for construct in root.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY and isinstance(entry.data, dict):
                for qualified, reason in entry.data.items():
                    # cdk-nag rules are recorded as annotation ids; other plugins keep their namespace.
                    rule = (
                        qualified.split("::", 1)[1]
                        if qualified.lower().startswith("annotation::")
                        else qualified
                    )
                    found.append({"path": construct.node.path, "rule": rule, "reason": str(reason)})
    return sorted(found, key=lambda a: (a["path"], a["rule"]))


def _pack_of(rule: str) -> str | None:
    return next((pack for pack in PACKS if rule.startswith(f"{pack}-")), None)


def write_report(root: IConstruct, assembly_dir: Path, packs: list[RecordedPack]) -> dict[str, Any]:
    """Each pack's own result, CDK's other validation findings, and every acknowledgement with its reason."""
    validation_file = assembly_dir / "validation-report.json"
    validation = json.loads(validation_file.read_text()) if validation_file.exists() else {}
    pack_names = {pack.name for pack in packs}
    other_plugins = {
        plugin["pluginName"]: [
            {"rule": v.get("ruleName"), "severity": v.get("severity"), "description": v.get("description")}
            for v in plugin.get("violations", [])
        ]
        for plugin in validation.get("pluginReports", [])
        if plugin.get("pluginName") not in pack_names
    }
    everything = acknowledgements(root)
    acknowledged = [a for a in everything if _pack_of(a["rule"]) is not None]
    report: dict[str, Any] = {
        "packs": {
            pack.name: {
                "ran": pack.ran,
                "errors": sum(1 for v in pack.violations for _ in v["resources"] if v["severity"] == "error"),
                "warnings": sum(
                    1 for v in pack.violations for _ in v["resources"] if v["severity"] == "warning"
                ),
                "violations": pack.violations,
                "acknowledged": sum(1 for a in acknowledged if a["rule"].startswith(f"{pack.name}-")),
            }
            for pack in packs
        },
        "otherPlugins": other_plugins,
        "acknowledgements": acknowledged,
        # Acknowledged by aws-cdk-lib itself for its own validation plugin (e.g. literal AZs).
        "otherAcknowledgements": [a for a in everything if _pack_of(a["rule"]) is None],
    }
    path = assembly_dir / REPORT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1))
    return report
