"""PRR-Lambda-InterfaceEndpoints: a function in a VPC reaches every AWS service its role's policies
grant through a VPC endpoint in the same stack (a function without an internet path has no other way)."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::Lambda::Function",)
# IAM action prefix -> endpoint service name, where they differ.
ENDPOINT_OF = {"cloudwatch": "monitoring", "kinesis": "kinesis-streams"}
# Prefixes the function's code does not call from its subnets: the Lambda service uses the role for the
# function's network interfaces (ec2) and writes the function's logs to CloudWatch Logs itself (logs),
# outside the VPC; iam is never called at run time. The X-Ray daemon does send from inside the
# execution environment, so xray stays in.
NOT_CALLED = frozenset({"ec2", "iam", "logs"})


def lambda_interface_endpoints(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    own = _cfn.properties(node)
    if not _cfn.listed((own.get("VpcConfig") or {}).get("SubnetIds")):
        return NagRuleCompliance.NOT_APPLICABLE  # PRR-Lambda-NoInternetPath judges that
    role = _cfn.referenced(own.get("Role"))
    if role is None:
        return NagRuleCompliance.NOT_APPLICABLE  # a role from elsewhere: its policies are not here
    missing = called_services(node, role) - endpoint_services(node)
    return NagRuleCompliance.NON_COMPLIANT if missing else NagRuleCompliance.COMPLIANT


def explain(node: CfnResource, policy: Policy = DEFAULT) -> str:
    role = _cfn.referenced(_cfn.properties(node).get("Role"))
    missing = sorted(called_services(node, role) - endpoint_services(node)) if role else []
    return f"No endpoint for: {', '.join(missing)}." if missing else ""


def called_services(node: CfnResource, role: str) -> set[str]:
    documents = [
        r.properties.get("PolicyDocument")
        for r in _cfn.of_type(node, "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        if any(_cfn.referenced(x) == role for x in _cfn.listed(r.properties.get("Roles")))
    ]
    for r in _cfn.of_type(node, "AWS::IAM::Role"):
        if r.logical_id == role:
            documents += [p.get("PolicyDocument") for p in _cfn.listed(r.properties.get("Policies"))]
    services = set()
    for document in documents:
        for statement in _cfn.statements(document):
            if statement.get("Effect") != "Allow":
                continue
            for action in _cfn.listed(statement.get("Action")):
                if isinstance(action, str) and ":" in action:
                    prefix = action.split(":", 1)[0].lower()
                    if prefix not in NOT_CALLED:
                        services.add(ENDPOINT_OF.get(prefix, prefix))
    return services


def endpoint_services(node: CfnResource) -> set[str]:
    found = set()
    for endpoint in _cfn.of_type(node, "AWS::EC2::VPCEndpoint"):
        name = endpoint.properties.get("ServiceName")
        text = (
            name if isinstance(name, str) else str(_cfn.listed((name or {}).get("Fn::Join", [None, []]))[-1])
        )
        found.add(text.rsplit(".", 1)[-1].strip("'\"]"))
    return found
