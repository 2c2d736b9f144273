"""A Resilience Hub resiliency policy from the configuration, and an application that describes the
stack it is declared in (docs/adr/0028-fault-injection-and-resilience-hub.md).

The application maps its own stack by ``AWS::StackId`` (a CfnStack mapping: CloudFormation knows the
stack's ARN while it deploys it, and nothing outside the stack has to pass it in), and lists the
resources of that stack it should assess by logical id. Resources declared in another stack (the
global tables' replica in this Region) are mapped one by one, by the ARN their configured names give.
Resilience Hub resolves every mapping when it assesses, so the application is created before the
stack finishes and stays right as the stack changes, as long as the logical ids do.

:func:`app_template_body` and :func:`template_body_problems` are pure, so the tests check the shape of
the body (Resilience Hub's ``appTemplateBody``, version 2.0) without synthesizing anything.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jsii
from aws_cdk import CfnResource, IResolveContext, IStableStringProducer, Lazy, Stack
from aws_cdk import aws_resiliencehub as resiliencehub
from constructs import Construct

from strongroom.config import ResiliencePolicy
from strongroom.infra.constructs._props import Check, Problems

TEMPLATE_VERSION = 2.0
# The AWS::ResilienceHub::App resource schema's limits for AppTemplateBody.
TEMPLATE_BODY_MAX = 5000
TEMPLATE_BODY_PATTERN = re.compile(r"^[\w\s:,\-.'/{}\[\]\"]+$")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{1,59}$")
# The AppComponent each resource type belongs to (Resilience Hub's "Grouping resources in an
# AppComponent"); a type missing here has no place in an application.
COMPONENT_TYPES = {
    "AWS::Lambda::Function": "AWS::ResilienceHub::ComputeAppComponent",
    "AWS::ApiGateway::RestApi": "AWS::ResilienceHub::ComputeAppComponent",
    "AWS::DynamoDB::Table": "AWS::ResilienceHub::DatabaseAppComponent",
    "AWS::SNS::Topic": "AWS::ResilienceHub::NotificationAppComponent",
    "AWS::S3::Bucket": "AWS::ResilienceHub::StorageAppComponent",
}
# Resilience Hub's disruption types, as the policy's keys.
DISRUPTIONS = ("Software", "Hardware", "AZ", "Region")
_TEMPLATE_KEYS = ("resources", "appComponents", "excludedResources", "version")


@dataclass(frozen=True, slots=True)
class AppResource:
    """One resource of the application: its name there, its CloudFormation type, the AppComponent it
    belongs to, and either its logical id in the mapped stack or the ARN it is mapped to."""

    name: str
    resource_type: str
    component: str
    logical_id: str | None = None  # a resource of the mapped stack
    arn: str | None = None  # a resource declared elsewhere, mapped by ARN


def app_template_body(stack_name: str, resources: Sequence[AppResource]) -> dict[str, Any]:
    """Resilience Hub's ``appTemplateBody``: the resources, grouped into AppComponents."""
    components: dict[str, list[AppResource]] = {}
    for resource in resources:
        components.setdefault(resource.component, []).append(resource)
    return {
        "resources": [
            {
                "logicalResourceId": (
                    {"identifier": resource.logical_id, "logicalStackName": stack_name}
                    if resource.logical_id is not None
                    else {"identifier": resource.name}
                ),
                "type": resource.resource_type,
                "name": resource.name,
            }
            for resource in resources
        ],
        "appComponents": [
            {
                "name": name,
                "type": COMPONENT_TYPES[members[0].resource_type],
                "resourceNames": [member.name for member in members],
            }
            for name, members in components.items()
        ],
        "excludedResources": {"logicalResourceIds": []},
        "version": TEMPLATE_VERSION,
    }


def template_body_problems(body: str) -> list[str]:
    """What CloudFormation or Resilience Hub would refuse in a rendered ``appTemplateBody``."""
    problems = []
    if len(body) > TEMPLATE_BODY_MAX:
        problems.append(f"AppTemplateBody is {len(body)} characters; the limit is {TEMPLATE_BODY_MAX}")
    if not TEMPLATE_BODY_PATTERN.match(body):
        odd = sorted({c for c in body if not TEMPLATE_BODY_PATTERN.match(c)})
        problems.append(f"AppTemplateBody has characters the resource schema refuses: {odd}")
    try:
        document = json.loads(body)
    except ValueError as exc:
        return [*problems, f"AppTemplateBody is not JSON: {exc}"]
    return problems + _document_problems(document)


def _document_problems(document: Mapping[str, Any]) -> list[str]:
    problems = [f"AppTemplateBody has no {key!r}" for key in _TEMPLATE_KEYS if key not in document]
    if document.get("version") != TEMPLATE_VERSION:
        problems.append(f"AppTemplateBody version {document.get('version')!r} is not {TEMPLATE_VERSION}")
    resources = document.get("resources", [])
    names = [r.get("name") for r in resources]
    problems += [
        f"resource name {name!r} is not 2-60 letters, digits, _ or -"
        for name in names
        if not isinstance(name, str) or not NAME_PATTERN.match(name)
    ]
    if len(set(map(str, names))) != len(names):
        problems.append(f"resource names {names} repeat")
    for resource in resources:
        if resource.get("type") not in COMPONENT_TYPES:
            problems.append(
                f"resource {resource.get('name')!r}: type {resource.get('type')!r} is unsupported"
            )
        if not resource.get("logicalResourceId", {}).get("identifier"):
            problems.append(f"resource {resource.get('name')!r} has no logicalResourceId.identifier")
    grouped = [n for c in document.get("appComponents", []) for n in c.get("resourceNames", [])]
    if sorted(map(str, grouped)) != sorted(map(str, names)):
        problems.append(f"appComponents group {grouped}, not exactly the resources {names}")
    return problems


@jsii.implements(IStableStringProducer)
class _TemplateBody:
    """Renders the body at synthesis, when every logical id is final (an override included)."""

    def __init__(self, stack: Stack, resources: Sequence[tuple[AppResource, CfnResource | None]]) -> None:
        self._stack = stack
        self._resources = resources

    def render(self) -> str:
        resolved = [
            AppResource(
                name=resource.name,
                resource_type=resource.resource_type,
                component=resource.component,
                logical_id=str(self._stack.resolve(cfn.logical_id)) if cfn is not None else None,
                arn=resource.arn,
            )
            for resource, cfn in self._resources
        ]
        body = app_template_body(self._stack.stack_name, resolved)
        return json.dumps(body, separators=(",", ":"))

    def produce(self, context: IResolveContext | None = None) -> str:
        return self.render()


class ResilienceHubApplication(Construct):
    """The resiliency policy ``<name>`` (from ``policy``) and the application ``<name>`` under it.

    ``stack_resources`` are resources of this stack: name in the application → (its L1 resource, the
    AppComponent it belongs to). ``external_resources`` are declared elsewhere and mapped by ARN.

    Attributes: ``policy``, ``app``, ``template_body`` (a producer; ``render()`` gives the JSON).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        description: str,
        policy: ResiliencePolicy,
        stack_resources: Mapping[str, tuple[CfnResource, str]],
        external_resources: Sequence[AppResource] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        problems = Problems("ResilienceHubApplication")
        problems.check(bool(NAME_PATTERN.match(name)), f"name {name!r} is not 2-60 letters, digits, _ or -")
        problems.check(bool(stack_resources), "stack_resources: an application maps at least its own stack")
        for resource_name, (cfn, _) in stack_resources.items():
            problems.check(
                cfn.cfn_resource_type in COMPONENT_TYPES,
                f"stack_resources.{resource_name}: {cfn.cfn_resource_type} has no AppComponent type",
            )
        for resource in external_resources:
            problems.check(
                resource.arn is not None and resource.logical_id is None,
                f"external_resources.{resource.name}: give its arn (and no logical_id)",
            )
            problems.check(
                resource.resource_type in COMPONENT_TYPES,
                f"external_resources.{resource.name}: {resource.resource_type} has no AppComponent type",
            )
        problems.raise_if_any()

        entries: list[tuple[AppResource, CfnResource | None]] = [
            (AppResource(resource_name, cfn.cfn_resource_type, component, logical_id="?"), cfn)
            for resource_name, (cfn, component) in stack_resources.items()
        ]
        entries += [(resource, None) for resource in external_resources]
        self.template_body = _TemplateBody(stack, entries)
        # Shape problems (names, components, length, characters) fail synthesis, not the deployment.
        self.node.add_validation(
            Check(lambda: "; ".join(template_body_problems(self.template_body.render())))
        )

        objectives = {
            "Software": (policy.software_rto_seconds, policy.software_rpo_seconds),
            # Whatever a Region cannot absorb, it fails over: an AZ or hardware failure is held to the
            # Region's objectives (config.ResiliencePolicy).
            "Hardware": (policy.rto_seconds, policy.rpo_seconds),
            "AZ": (policy.rto_seconds, policy.rpo_seconds),
            "Region": (policy.rto_seconds, policy.rpo_seconds),
        }
        self.policy = resiliencehub.CfnResiliencyPolicy(
            self,
            "Policy",
            policy_name=name,
            policy_description=f"{description}: objectives from the Strongroom configuration",
            tier=policy.tier,
            data_location_constraint="AnyLocation",
            policy={
                disruption: resiliencehub.CfnResiliencyPolicy.FailurePolicyProperty(
                    rto_in_secs=rto, rpo_in_secs=rpo
                )
                for disruption, (rto, rpo) in objectives.items()
            },
        )
        here = {"aws_region": stack.region, "aws_account_id": stack.account}
        mappings = [
            resiliencehub.CfnApp.ResourceMappingProperty(
                mapping_type="CfnStack",
                logical_stack_name=stack.stack_name,
                physical_resource_id=resiliencehub.CfnApp.PhysicalResourceIdProperty(
                    identifier=stack.stack_id, type="Arn", **here
                ),
            ),
            *(
                resiliencehub.CfnApp.ResourceMappingProperty(
                    mapping_type="Resource",
                    resource_name=resource.name,
                    physical_resource_id=resiliencehub.CfnApp.PhysicalResourceIdProperty(
                        identifier=str(resource.arn), type="Arn", **here
                    ),
                )
                for resource in external_resources
            ),
        ]
        self.app = resiliencehub.CfnApp(
            self,
            "App",
            name=name,
            description=description,
            app_template_body=Lazy.string(self.template_body),
            resource_mappings=mappings,
            resiliency_policy_arn=self.policy.attr_policy_arn,
            # Assessments run on demand (docs/adr/0028): a daily one needs a role Resilience Hub assumes.
            app_assessment_schedule="Disabled",
        )
