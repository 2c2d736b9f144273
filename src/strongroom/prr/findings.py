"""What `strongroom check` works with: its inputs, each tool's run, and findings with their
acknowledgements (docs/adr/0038-strongroom-check.md). Data only."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from strongroom.errors import UserError
from strongroom.prr.controls import CDK_NAG, CFN_LINT, CHECKOV, GATE, PRR, TEST

CDK_APP, CLOUDFORMATION, TERRAFORM_PLAN = "cdk-app", "cloudformation", "terraform-plan"
BLOCKING, ERROR, WARNING, INFO = "blocking", "error", "warning", "info"
PASS, FAIL, ACKNOWLEDGED, NOT_JUDGED = "pass", "fail", "acknowledged", "not-judged"
RAN, MISSING, FAILED = "ran", "missing", "failed"
# Tool names as findings and the report's tool table spell them.
T_TEMPLATE, T_CDK_NAG, T_PRR, T_CFN_LINT, T_CHECKOV, T_TESTS, T_ATTESTATION = (
    "template",
    "cdk-nag",
    "prr",
    "cfn-lint",
    "checkov",
    "tests",
    "attestation",
)
ATTESTATION = "attestation"  # the check kind of a control's attestation (prr/attestations.yaml)
KIND_OF_TOOL = {
    T_TEMPLATE: GATE,
    T_CDK_NAG: CDK_NAG,
    T_PRR: PRR,
    T_CFN_LINT: CFN_LINT,
    T_CHECKOV: CHECKOV,
    T_TESTS: TEST,
    T_ATTESTATION: ATTESTATION,
}
TOOL_OF_KIND = {kind: tool for tool, kind in KIND_OF_TOOL.items()}
INCLUDED = "Resources"  # the CfnInclude's id: a template's resource is <template stem>/Resources/<id>


class CheckError(UserError):
    """An input ``strongroom check`` cannot start from (a missing file, an unknown format)."""


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    reason: str
    exception: str
    source: str
    review_by: str | None = None


@dataclass(slots=True)
class Finding:
    rule: str
    tool: str
    severity: str
    message: str
    template: str = ""
    logical_id: str = ""
    resource: str = ""
    acknowledged: Acknowledgement | None = None
    id: str = ""
    controls: list[str] = field(default_factory=list)

    def key(self) -> tuple[str, str, str, str, str]:
        return (self.tool, self.rule, self.template, self.logical_id, self.message)


@dataclass(slots=True)
class ToolRun:
    name: str
    status: str
    detail: str
    seconds: float = 0.0


@dataclass(slots=True)
class Input:
    name: str
    kind: str
    path: Path
    template: dict[str, Any] | None = None
    resources: int = 0
