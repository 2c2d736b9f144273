"""The rules of Strongroom's own gates, as findings name them: the template checks of ``strongroom
check`` (what CloudFormation would reject before any pack can judge a resource) and the gates synthesis
runs besides the packs (docs/adr/0015-compliance-gates.md, docs/adr/0038-strongroom-check.md).

Data only: prr/controls.yaml names these ids as checks of kind ``gate``, and the control-matrix
resolver accepts exactly these.
"""

from __future__ import annotations

TEMPLATE_UNREADABLE = "Strongroom-TemplateUnreadable"
TEMPLATE_CIRCULAR_DEPENDENCY = "Strongroom-TemplateCircularDependency"
TEMPLATE_DANGLING_REFERENCE = "Strongroom-TemplateDanglingReference"
TEMPLATE_REJECTED = "Strongroom-TemplateRejected"
RESOURCE_NOT_JUDGED = "Strongroom-ResourceNotJudged"
RESOURCE_WILDCARD = "Strongroom-ResourceWildcard"
EXCEPTION_OUTSIDE_REGISTRY = "Strongroom-ExceptionOutsideRegistry"
EXCEPTION_EXPIRED = "Strongroom-ExceptionExpired"
ATTESTATION_EXPIRED = "Strongroom-AttestationExpired"

GATE_RULES: dict[str, str] = {
    TEMPLATE_UNREADABLE: "The template parses as CloudFormation JSON or YAML and has resources.",
    TEMPLATE_CIRCULAR_DEPENDENCY: "No resources depend on each other in a cycle (CloudFormation refuses it).",
    TEMPLATE_DANGLING_REFERENCE: "Every Ref, GetAtt, Sub and DependsOn names a resource or parameter.",
    TEMPLATE_REJECTED: "CloudFormation would accept the template: cfn-lint reports no error.",
    RESOURCE_NOT_JUDGED: "Every resource could be loaded for the rule packs to judge.",
    RESOURCE_WILDCARD: "Every wildcard resource in an IAM or endpoint policy is on the allow-list.",
    EXCEPTION_OUTSIDE_REGISTRY: "Every acknowledgement, skip or ignore comes from the exceptions registry.",
    EXCEPTION_EXPIRED: "No accepted exception is past its review-by date.",
    ATTESTATION_EXPIRED: "Every attestation a control relies on is current (at most twelve months old).",
}
