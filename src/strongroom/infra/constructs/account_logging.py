"""The role through which API Gateway writes a REST API's logs, and the account setting that names it.

API Gateway writes both execution and access logs of every REST API in an account and Region with one
IAM role, named by the ``AWS::ApiGateway::Account`` resource. AWS's managed policy for it
(AmazonAPIGatewayPushToCloudWatchLogs) allows seven actions on every log group in the account; this
role allows what writing needs (create, describe, put) on the log groups it is given, and nothing that
reads a log (docs/adr/0022-api-firewall.md).
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from strongroom.infra.constructs._props import Problems

# Everything API Gateway needs to deliver logs. Not logs:GetLogEvents or logs:FilterLogEvents: they read
# what was logged, and a service that only writes has no use for them.
WRITE_ACTIONS = (
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:DescribeLogStreams",
    "logs:PutLogEvents",
)
LIST_ACTIONS = ("logs:DescribeLogGroups",)


class ApiGatewayAccountLogging(Construct):
    """The account-and-Region CloudWatch role of API Gateway, allowed to write to ``log_groups`` only.

    There is one such setting per account and Region: a second one overwrites the first, and another
    API in the same account and Region would log with this role (and so only to these groups). Make
    whatever must not log before the setting exists (a stage) depend on ``account``.

    Attributes: ``role``, ``policy``, ``account``.
    """

    def __init__(self, scope: Construct, construct_id: str, *, log_groups: Sequence[logs.ILogGroup]) -> None:
        super().__init__(scope, construct_id)
        problems = Problems("ApiGatewayAccountLogging")
        problems.check(bool(log_groups), "log_groups must name at least one log group")
        problems.raise_if_any()

        stack = Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "apigateway.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description="API Gateway: write this platform's API logs, and read none",
        )
        groups = [self._group_arn(stack, group.log_group_name) for group in log_groups]
        streams = [f"{group}:log-stream:*" for group in groups]
        any_group = self._group_arn(stack, "*")
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="WriteTheApiLogs", actions=list(WRITE_ACTIONS), resources=groups + streams
                ),
                # Describe lists groups: it is authorized on log-group:*, never on a name.
                iam.PolicyStatement(sid="ListLogGroups", actions=list(LIST_ACTIONS), resources=[any_group]),
            ],
        )
        self.account = apigw.CfnAccount(self, "Account", cloud_watch_role_arn=self.role.role_arn)
        self.account.node.add_dependency(self.policy)

    @staticmethod
    def _group_arn(stack: Stack, name: str) -> str:
        return stack.format_arn(
            service="logs", resource="log-group", resource_name=name, arn_format=ArnFormat.COLON_RESOURCE_NAME
        )
