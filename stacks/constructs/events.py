"""The Kinesis streams of domain events, built from the declarations in aperture.resources."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Duration
from aws_cdk import aws_kinesis as kinesis
from constructs import Construct

from aperture.resources import Stream


class EventStreams(Construct):
    """Provisioned streams with the declared shard count and retention, encrypted with the aws/kinesis key.

    Provisioned rather than on-demand: a shard costs about $11/month idle against about $29/month for an on-demand
    stream, and the declared shard count is what the load needs. The AWS managed key needs no key policy or
    grants, and consumers that can read the stream can decrypt it.
    """

    def __init__(self, scope: Construct, construct_id: str, *, declarations: Iterable[Stream]) -> None:
        super().__init__(scope, construct_id)
        self.streams: dict[str, kinesis.Stream] = {}
        for declaration in declarations:
            self.streams[declaration.key] = kinesis.Stream(
                self,
                declaration.key.capitalize(),
                stream_mode=kinesis.StreamMode.PROVISIONED,
                shard_count=declaration.shards,
                retention_period=Duration.hours(declaration.retention_hours),
                encryption=kinesis.StreamEncryption.MANAGED,
            )
