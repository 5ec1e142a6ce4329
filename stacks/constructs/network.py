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

    Why no NAT gateway: nothing in the VPC talks to the internet, so the VPC has no route to it, and an in-VPC
    function reaches only the AWS services its endpoints serve. Gateway endpoints (S3, DynamoDB) are free; an
    interface endpoint costs about $7.30/month per AZ, so only the ones the in-VPC functions' grants need are created
    (`interface_endpoints_for`). The grants need five today: X-Ray, Kinesis and SQS, and Cognito and SNS for account
    erasure (`users` checks the password again; the `erasure` worker deletes the Cognito user and the devices' SNS
    endpoints): about $73/month in two AZs. One NAT gateway would cost less idle (about $36.50/month with its public
    IPv4 address), but $0.045/GB against the endpoints' $0.01/GB (more in all above about 1 TB a month), in one AZ,
    and it would give every in-VPC function a route to the internet; one per AZ costs what the endpoints cost idle.
    The figures: docs/cost.md (`python -m bench.cost`).
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
