"""The explore retrieval index: a small OpenSearch domain (k-NN) inside the VPC, with fine-grained access control."""

from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from constructs import Construct

from .nag import VPC_EXECUTION, acknowledge, managed_policy_finding, wildcard_resource_finding

INSTANCE_TYPE = "t3.small.search"
DOMAIN_NAME = "aperture-explore"
# The security plugin's REST API, where roles, their mappings and the audit configuration are written.
SECURITY_API_PATH = "_plugins/_security/api"


class ExploreSearch(Construct):
    """One t3.small.search data node with 10 GB gp3: encrypted at rest, node to node and HTTPS-only (TLS 1.2).

    The index is derived data (rebuilt from DynamoDB by the explore refresh every 15-30 minutes), so one node and
    no dedicated masters keep the idle cost near $28/month; production traffic wants three nodes across AZs.
    Nothing may call it without IAM credentials: the domain policy trusts this account's IAM (the account
    principal, never '*'), so access is granted per function through identity policies only.

    Fine-grained access control then authorizes each request again inside OpenSearch, by the roles the caller's IAM
    role is mapped to, and publishes an audit log. Its master user is `administrator`, a role only the service
    stack's deploy-time custom resource runs as (stacks.constructs.search_access): it writes the functions' roles
    and mappings and the audit configuration, from the `administration` security group, which may reach this
    domain and nothing else.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        clients: ec2.ISecurityGroup,
    ) -> None:
        super().__init__(scope, construct_id)
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Explore search domain, reachable from the Aperture functions only",
            allow_all_outbound=False,
        )
        self.security_group.add_ingress_rule(clients, ec2.Port.tcp(443), "HTTPS from functions")
        # Built from the fixed name rather than the domain's Arn attribute: identity policies in the service stack
        # then name it in this account and region without a cross-stack import, which cdk-nag findings (and their
        # acknowledgments) could only name by the export's generated name.
        self.domain_arn = f"arn:{Aws.PARTITION}:es:{Aws.REGION}:{Aws.ACCOUNT_ID}:domain/{DOMAIN_NAME}"
        self._administration(vpc)

        log_groups = {
            name: logs.LogGroup(
                self, name, retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
            )
            for name in ("SlowSearchLogs", "SlowIndexLogs", "AppLogs")
        }
        # Who was refused what, and every change to the security configuration: kept a year, and kept when the stack
        # goes (an audit trail that a deletion erases is no trail). Its volume is small: requests that were let
        # through are not logged (stacks.constructs.search_access.AUDIT).
        log_groups["AuditLogs"] = logs.LogGroup(
            self, "AuditLogs", retention=logs.RetentionDays.ONE_YEAR, removal_policy=RemovalPolicy.RETAIN
        )
        # One explicit resource policy instead of the construct's custom resource (a Lambda with wildcard IAM).
        delivery = logs.ResourcePolicy(
            self,
            "LogDelivery",
            policy_statements=[
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal("es.amazonaws.com")],
                    actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[group.log_group_arn for group in log_groups.values()],
                )
            ],
        )
        single_subnet = vpc.select_subnets(subnet_type=subnets.subnet_type).subnets[:1]
        self.domain = opensearch.Domain(
            self,
            "Domain",
            # Named, so the domain policy below can name the domain without referring to the resource itself.
            domain_name=DOMAIN_NAME,
            version=opensearch.EngineVersion.OPENSEARCH_2_19,
            capacity=opensearch.CapacityConfig(
                data_nodes=1,
                data_node_instance_type=INSTANCE_TYPE,
                multi_az_with_standby_enabled=False,
            ),
            ebs=opensearch.EbsOptions(volume_size=10, volume_type=ec2.EbsDeviceVolumeType.GP3),
            zone_awareness=opensearch.ZoneAwarenessConfig(enabled=False),
            # All three are what fine-grained access control requires.
            encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
            node_to_node_encryption=True,
            enforce_https=True,
            # An IAM master user: every request stays SigV4-signed, no password exists. On a domain created before,
            # turning this on is a blue/green update; until the service stack maps the functions' roles, their
            # requests are refused and explore serves its popularity candidates (docs/operations.md).
            fine_grained_access_control=opensearch.AdvancedSecurityOptions(master_user_arn=self.administrator.role_arn),
            tls_security_policy=opensearch.TLSSecurityPolicy.TLS_1_2,
            vpc=vpc,
            vpc_subnets=[ec2.SubnetSelection(subnets=single_subnet)],
            security_groups=[self.security_group],
            logging=opensearch.LoggingOptions(
                slow_search_log_enabled=True,
                slow_search_log_group=log_groups["SlowSearchLogs"],
                slow_index_log_enabled=True,
                slow_index_log_group=log_groups["SlowIndexLogs"],
                app_log_enabled=True,
                app_log_group=log_groups["AppLogs"],
                audit_log_enabled=True,
                audit_log_group=log_groups["AuditLogs"],
            ),
            suppress_logs_resource_policy=True,
            enable_auto_software_update=True,
            # Derived data: deleting the stack may delete the index, the refresh job rebuilds it.
            removal_policy=RemovalPolicy.DESTROY,
        )
        # OpenSearch checks the log groups' policy when the domain's logging changes: the policy must be in place first
        # (the construct adds this dependency itself only for the policy it would write).
        self.domain.node.add_dependency(delivery)
        # Set on the resource itself: the construct's access_policies would add a custom resource (a Lambda with
        # wildcard IAM) only to break a reference cycle a fixed name does not have.
        cfn_domain = self.domain.node.default_child
        if not isinstance(cfn_domain, opensearch.CfnDomain):
            raise TypeError(f"the search domain's resource is a {type(cfn_domain).__name__}, not a CfnDomain")
        cfn_domain.access_policies = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    principals=[iam.AccountRootPrincipal()],
                    actions=["es:ESHttp*"],
                    resources=[f"{self.domain_arn}/*"],
                )
            ]
        ).to_json()
        acknowledge(
            self.domain,
            "AwsSolutions-OS3",
            "A VPC domain cannot use IP-based policies; it is reachable only inside the VPC, where its security "
            "group admits the functions' group and its administration's alone, and every request must be "
            "SigV4-signed by this account.",
        )
        reason = (
            "Single data node: the k-NN index is derived data rebuilt from DynamoDB every 15-30 minutes, so an "
            "outage degrades explore to popularity-only candidates; three nodes across AZs with dedicated "
            "masters would cost about ten times more idle."
        )
        acknowledge(self.domain, "AwsSolutions-OS4", reason)
        acknowledge(self.domain, "AwsSolutions-OS7", reason)

    def _administration(self, vpc: ec2.IVpc) -> None:
        """The master user's role and the security group it works from (stacks.constructs.search_access)."""
        self.administrator = iam.Role(
            self,
            "Administrator",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Aperture explore search: the fine-grained access control master user, run as by the "
            "deploy-time custom resource that writes the domain's roles, mappings and audit configuration",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name("service-role/AWSLambdaVPCAccessExecutionRole")
            ],
        )
        # The security plugin's API alone, and only to write: the master user may do anything inside the domain, so
        # its IAM policy is what keeps it to the access configuration (no index, no search, no domain settings).
        security_api = f"{self.domain_arn}/{SECURITY_API_PATH}/*"
        self.administrator.add_to_policy(
            iam.PolicyStatement(actions=["es:ESHttpDelete", "es:ESHttpPut"], resources=[security_api])
        )
        acknowledge(
            self.administrator,
            wildcard_resource_finding(self.administrator, security_api),
            "The security plugin's REST API of the explore domain: one path per role, mapping and the audit "
            "configuration, written at deploy by the custom resource that runs as this role.",
        )
        acknowledge(
            self.administrator,
            managed_policy_finding(VPC_EXECUTION),
            "AWS-maintained policy with exactly the ENI actions Lambda needs to attach the custom resource's "
            "function to the VPC (where the domain answers), plus CloudWatch Logs writes.",
        )
        self.administration = ec2.SecurityGroup(
            self,
            "Administration",
            vpc=vpc,
            description="Explore search domain administration at deploy: HTTPS to the domain only",
            allow_all_outbound=False,
        )
        self.administration.add_egress_rule(self.security_group, ec2.Port.tcp(443), "HTTPS to the search domain")
        self.security_group.add_ingress_rule(self.administration, ec2.Port.tcp(443), "HTTPS from its administration")
