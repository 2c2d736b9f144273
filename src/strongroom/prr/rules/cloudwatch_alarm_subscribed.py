"""PRR-CloudWatch-AlarmSubscribed: an alarm acts, and a topic it notifies in the stack has a
subscription (a topic nobody subscribes to reaches nobody). A topic from elsewhere is taken as routed."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagRuleCompliance

from strongroom.prr import _cfn
from strongroom.prr.policy import DEFAULT, Policy

RESOURCE_TYPES = ("AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm")


def cloudwatch_alarm_subscribed(node: CfnResource, policy: Policy = DEFAULT) -> NagRuleCompliance:
    if node.cfn_resource_type not in RESOURCE_TYPES:
        return NagRuleCompliance.NOT_APPLICABLE
    props = _cfn.properties(node)
    if props.get("ActionsEnabled") is False:
        return NagRuleCompliance.NON_COMPLIANT
    actions = _cfn.listed(props.get("AlarmActions"))
    if not actions:
        return NagRuleCompliance.NON_COMPLIANT
    topics = {t.logical_id: t.properties for t in _cfn.of_type(node, "AWS::SNS::Topic")}
    subscribed = {
        _cfn.referenced(s.properties.get("TopicArn")) for s in _cfn.of_type(node, "AWS::SNS::Subscription")
    }
    for action in actions:
        topic = _cfn.referenced(action)
        if topic not in topics:
            return NagRuleCompliance.COMPLIANT  # a topic or action from elsewhere (a parameter, an ARN)
        if topic in subscribed or topics[topic].get("Subscription"):
            return NagRuleCompliance.COMPLIANT
    return NagRuleCompliance.NON_COMPLIANT
