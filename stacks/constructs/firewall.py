"""A WAF web ACL in front of a CloudFront distribution (the image CDN, the web app): AWS's IP reputation and
known-bad-input rules, and a rate limit per IP.

Web ACLs for CloudFront must live in us-east-1, as the edge and web stacks do (stacks.constructs.distribution.
require_edge_region). Every rule publishes CloudWatch metrics and sampled requests, so an operator can see what was
blocked and why. The HTTP API (API Gateway v2) cannot take a web ACL; its throttles and the per-user limits protect
it instead.
"""

from __future__ import annotations

from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

# Requests one client address may make in any 5 minutes before WAF blocks it for a while. A person scrolling a feed
# loads a few hundred images a minute at most (12 per screen, four sizes negotiated to one); scrapers far more.
IMAGE_REQUESTS_PER_IP_PER_5_MINUTES = 6000
# The web app's distribution serves an app shell: a first visit is six requests (the redirect to /app/, index.html,
# config.json, one script, one stylesheet, the icon), a reload two or three (the hashed assets are cached a year and
# only index.html and config.json revalidate), and moving between screens asks it for nothing (images come from the
# image CDN, data from the API). One person hardly makes 50 requests in 5 minutes; 1,000 leaves room for some 150
# first visits from one address (an office, a carrier-grade NAT), while a flood (each request billed, cache or not)
# is stopped within minutes.
WEB_APP_REQUESTS_PER_IP_PER_5_MINUTES = 1000
# One web ACL per distribution (stacks.constructs.cdn, stacks.constructs.web), with its per-address rate.
REQUESTS_PER_IP_PER_5_MINUTES = {
    "aperture-images": IMAGE_REQUESTS_PER_IP_PER_5_MINUTES,
    "aperture-web-app": WEB_APP_REQUESTS_PER_IP_PER_5_MINUTES,
}
MANAGED_RULE_GROUPS = ("AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesKnownBadInputsRuleSet")


def _visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
    return wafv2.CfnWebACL.VisibilityConfigProperty(
        cloud_watch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
    )


class CdnFirewall(Construct):
    """The web ACL named `name` (a key of REQUESTS_PER_IP_PER_5_MINUTES, which sets its rate) for what `protects`."""

    def __init__(self, scope: Construct, construct_id: str, *, name: str, protects: str) -> None:
        super().__init__(scope, construct_id)
        requests_per_5_minutes = REQUESTS_PER_IP_PER_5_MINUTES[name]
        rules = [
            wafv2.CfnWebACL.RuleProperty(
                name=group,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=group
                    )
                ),
                visibility_config=_visibility(f"{name}-{group}"),
            )
            for priority, group in enumerate(MANAGED_RULE_GROUPS)
        ]
        rules.append(
            wafv2.CfnWebACL.RuleProperty(
                name="RatePerIp",
                priority=len(rules),
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        aggregate_key_type="IP", limit=requests_per_5_minutes, evaluation_window_sec=300
                    )
                ),
                visibility_config=_visibility(f"{name}-RatePerIp"),
            )
        )
        self.acl = wafv2.CfnWebACL(
            self,
            "Acl",
            scope="CLOUDFRONT",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=rules,
            visibility_config=_visibility(name),
            description=f"{protects}: IP reputation, known bad inputs, a rate limit per client address",
        )

    @property
    def arn(self) -> str:
        return self.acl.attr_arn
