"""The private network of the in-VPC functions, the cache and the search domain."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import RemovalPolicy
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from aperture.resources import Function, SqsTrigger


def interface_endpoints_for(functions: Iterable[Function]) -> dict[str, ec2.InterfaceVpcEndpointAwsService]:
    """The interface endpoints the in-VPC (redis) functions need, derived from their grants.

    Tables and the bucket go through the free gateway endpoints. A stream a function only reads needs nothing:
    Lambda's event source mapping polls it from outside the VPC, and the same holds for a queue a function only
    consumes through its SqsTrigger. Writing a stream or a queue (or reading a queue without being triggered by
    it), or calling Cognito from inside the VPC does need an endpoint (so do Rekognition and SNS push), and X-Ray
    does for every traced function.
    """
    needed: dict[str, ec2.InterfaceVpcEndpointAwsService] = {"XRay": ec2.InterfaceVpcEndpointAwsService.XRAY}
    for function in functions:
        if not function.redis:
            continue
        for grant in function.grants:
            kind = grant.resource.partition(":")[0]
            if kind == "stream" and grant.access != "read":
                needed["Kinesis"] = ec2.InterfaceVpcEndpointAwsService.KINESIS_STREAMS
            elif kind == "queue" and (grant.access != "read" or not _triggered_by(function, grant.resource)):
                needed["Sqs"] = ec2.InterfaceVpcEndpointAwsService.SQS
            elif kind == "user_pool":
                needed["Cognito"] = ec2.InterfaceVpcEndpointAwsService.COGNITO_IDP
            elif kind == "rekognition":
                needed["Rekognition"] = ec2.InterfaceVpcEndpointAwsService.REKOGNITION
            elif kind == "sns":
                needed["Sns"] = ec2.InterfaceVpcEndpointAwsService.SNS
    return needed


def _triggered_by(function: Function, resource: str) -> bool:
    return isinstance(function.trigger, SqsTrigger) and resource == f"queue:{function.trigger.queue}"


class Network(Construct):
    """Two AZs of isolated subnets, no NAT.

    Why no NAT gateway: nothing in the VPC talks to the internet, and one NAT gateway costs about $33/month idle
    plus $0.045/GB, in one AZ. Gateway endpoints (S3, DynamoDB) are free; an interface endpoint costs about
    $7.30/month per AZ, so only the ones the in-VPC functions' grants need are created (`interface_endpoints_for`).
    Up to two interface endpoints (about $29/month) this is the cheaper honest option; from a third one on, a NAT
    gateway would cost less idle, though it bills every byte and pins egress to one AZ. The grants need three today
    (X-Ray, Kinesis and SQS: about $44/month against about $33/month plus $0.045/GB for one NAT gateway); endpoints
    keep the VPC without any route to the internet and every AZ's egress in its own AZ.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        interface_endpoints: dict[str, ec2.InterfaceVpcEndpointAwsService],
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=2,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22)
            ],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
                "DynamoDb": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.DYNAMODB),
            },
        )
        flow_logs = logs.LogGroup(
            self,
            "FlowLogs",
            retention=logs.RetentionDays.ONE_MONTH,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
            # Rejected flows are the security signal; accepted ones would bill for every cache round trip.
            traffic_type=ec2.FlowLogTrafficType.REJECT,
        )
        self.subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)

        # The in-VPC functions: the cache and the search domain admit this group and nothing else.
        self.function_security_group = ec2.SecurityGroup(
            self,
            "Functions",
            vpc=self.vpc,
            description="Aperture functions that reach the cache and the search domain",
            allow_all_outbound=True,
        )
        endpoint_group = ec2.SecurityGroup(
            self,
            "Endpoints",
            vpc=self.vpc,
            description="Interface endpoints, reachable from the Aperture functions only",
            allow_all_outbound=False,
        )
        endpoint_group.add_ingress_rule(self.function_security_group, ec2.Port.tcp(443), "HTTPS from functions")
        for name, service in sorted(interface_endpoints.items()):
            self.vpc.add_interface_endpoint(
                name,
                service=service,
                subnets=self.subnets,
                security_groups=[endpoint_group],
                open=False,
                private_dns_enabled=True,
            )
