"""The DynamoDB tables, built from the declarations in aperture.resources."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from aperture.resources import Attribute, Table

_TYPES = {"S": dynamodb.AttributeType.STRING, "N": dynamodb.AttributeType.NUMBER}
_STREAMS = {
    "NEW_IMAGE": dynamodb.StreamViewType.NEW_IMAGE,
    "NEW_AND_OLD_IMAGES": dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
}


def _attribute(attribute: Attribute) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=attribute.name, type=_TYPES[attribute.type])


class Tables(Construct):
    """One on-demand table per declaration: PITR on, KMS encryption, TTL and stream where declared.

    Physical names are left to CloudFormation (the functions get them in their environment), so a second
    deployment in the same account never collides. Tables are retained when the stack goes away.
    """

    def __init__(self, scope: Construct, construct_id: str, *, declarations: Iterable[Table]) -> None:
        super().__init__(scope, construct_id)
        self.declarations: dict[str, Table] = {}
        self.tables: dict[str, dynamodb.Table] = {}
        for declaration in declarations:
            table = dynamodb.Table(
                self,
                declaration.key.capitalize(),
                partition_key=_attribute(declaration.partition),
                sort_key=_attribute(declaration.sort) if declaration.sort else None,
                billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
                point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                    point_in_time_recovery_enabled=True
                ),
                encryption=dynamodb.TableEncryption.AWS_MANAGED,
                time_to_live_attribute=declaration.ttl_attribute,
                stream=_STREAMS[declaration.stream] if declaration.stream else None,
                deletion_protection=True,
                removal_policy=RemovalPolicy.RETAIN,
            )
            for index in declaration.indexes:
                table.add_global_secondary_index(
                    index_name=index.name,
                    partition_key=_attribute(index.partition),
                    sort_key=_attribute(index.sort) if index.sort else None,
                    projection_type=dynamodb.ProjectionType(index.projection),
                )
            self.declarations[declaration.key] = declaration
            self.tables[declaration.key] = table
