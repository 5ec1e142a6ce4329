"""The local runtime (moto) provisions the same tables, streams and queues the stateful stack deploys."""

from __future__ import annotations

from typing import Any

import pytest

from aperture.resources import FUNCTIONS, MEDIA_UPLOAD_CORS, QUEUES, STREAMS, TABLES, Queue, Stream, Table
from aperture.settings import Settings
from local.provision import create_queue_request, create_stream_request, create_table_request
from tests.infrastructure.conftest import Synthesized, logical_id

# One synthesis per session: under xdist, every infrastructure test runs on the same worker.
pytestmark = pytest.mark.xdist_group("cdk")


def _indexes(indexes: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return sorted((i["IndexName"], repr(i["KeySchema"]), i["Projection"]["ProjectionType"]) for i in indexes)


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.key)
def test_local_and_deployed_tables_agree(
    synthesized: Synthesized, stateful_template: dict[str, Any], table: Table
) -> None:
    # Given the CreateTable request the local runtime sends and the table the stack deploys
    local = create_table_request(table, Settings())
    deployed = stateful_template["Resources"][logical_id(synthesized.stateful.data.tables[table.key])]["Properties"]
    # Then keys, attribute types, indexes, billing and stream are the same
    assert local["KeySchema"] == deployed["KeySchema"]
    assert sorted(map(repr, local["AttributeDefinitions"])) == sorted(map(repr, deployed["AttributeDefinitions"]))
    assert _indexes(local.get("GlobalSecondaryIndexes", [])) == _indexes(deployed.get("GlobalSecondaryIndexes", []))
    assert local["BillingMode"] == deployed["BillingMode"]
    assert local.get("StreamSpecification", {}).get("StreamViewType") == deployed.get("StreamSpecification", {}).get(
        "StreamViewType"
    )
    # And the TTL attribute local provisioning enables (table.ttl_attribute) is the deployed one
    assert deployed.get("TimeToLiveSpecification", {}).get("AttributeName") == table.ttl_attribute


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.key)
def test_local_and_deployed_streams_agree(
    synthesized: Synthesized, stateful_template: dict[str, Any], stream: Stream
) -> None:

    local = create_stream_request(stream, Settings())
    deployed = stateful_template["Resources"][logical_id(synthesized.stateful.events.streams[stream.key])]
    assert local["ShardCount"] == deployed["Properties"]["ShardCount"]


@pytest.mark.parametrize("queue", QUEUES, ids=lambda q: q.key)
def test_local_and_deployed_queues_agree(
    synthesized: Synthesized,
    stateful_template: dict[str, Any],
    service_template: dict[str, Any],
    queue: Queue,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the CreateQueue request the local runtime sends (with the defaults, whatever other tests in this process
    # set) and the queue the stack deploys
    monkeypatch.delenv(f"APERTURE_QUEUE_{queue.key.upper()}", raising=False)
    local = create_queue_request(queue, Settings())
    deployed_queue = synthesized.stateful.queues.queues[queue.key]
    deployed = stateful_template["Resources"][logical_id(deployed_queue)]["Properties"]
    # Then messages stay invisible for as long in both
    assert int(local["Attributes"]["VisibilityTimeout"]) == deployed["VisibilityTimeout"]
    assert deployed["VisibilityTimeout"] == queue.visibility_timeout_seconds
    # And the local queue is named by the settings field whose variable hands the deployed functions its URL
    assert local["QueueName"] == getattr(Settings(), queue.setting)
    variables = {
        name
        for f in FUNCTIONS
        for name, value in service_template["Resources"][
            logical_id(synthesized.service.functions.by_name[f.name].function)
        ]["Properties"]["Environment"]["Variables"].items()
        if f"ExportsOutputRef{logical_id(deployed_queue)}" in str(value)
    }
    (variable,) = variables
    url = f"https://sqs.eu-west-1.amazonaws.com/123456789012/Aperture-Stateful-{queue.key}-AbC123"
    monkeypatch.setenv(variable, url)
    # And given that URL, the local runtime would name the queue it addresses
    assert create_queue_request(queue, Settings())["QueueName"] == url.rsplit("/", 1)[-1]


@pytest.mark.parametrize("stream", STREAMS, ids=lambda s: s.key)
def test_no_stream_has_more_polling_consumers_than_a_shard_serves(stream: Stream) -> None:
    # Each shard serves five GetRecords a second, shared by every standard consumer (each polls once a second);
    # past four, consumers are throttled and fall behind: that calls for enhanced fan-out instead.
    from aperture.resources import KinesisTrigger

    consumers = [f.name for f in FUNCTIONS if isinstance(f.trigger, KinesisTrigger) and f.trigger.stream == stream.key]
    assert len(consumers) <= 4, consumers


def test_local_and_deployed_media_bucket_cors_agree(
    synthesized: Synthesized, stateful_template: dict[str, Any]
) -> None:
    # The local runtime puts MEDIA_UPLOAD_CORS on moto's bucket; the stack deploys the same rule
    bucket = stateful_template["Resources"][logical_id(synthesized.stateful.media.bucket)]["Properties"]
    (deployed,) = bucket["CorsConfiguration"]["CorsRules"]
    local = MEDIA_UPLOAD_CORS.s3_rule()
    assert deployed == {
        "AllowedMethods": local["AllowedMethods"],
        "AllowedOrigins": local["AllowedOrigins"],
        "AllowedHeaders": local["AllowedHeaders"],
        "MaxAge": local["MaxAgeSeconds"],
    }


def test_the_local_redis_lets_the_platform_do_what_the_deployed_cache_does_and_nobody_unauthenticated(
    synthesized: Synthesized, stateful_template: dict[str, Any]
) -> None:
    # Given the deployed functions' user and the ACL the local servers start with for the platform's user
    from local.redis_server import RedisLogin, acl_rules

    cache = synthesized.stateful.cache
    deployed = stateful_template["Resources"][logical_id(cache.user)]["Properties"]["AccessString"]
    rules = acl_rules(RedisLogin("aperture", "generated-password"))
    # Then locally, as on AWS, a connection that has not authenticated may do nothing, and the platform's user
    # exactly what the deployed user may (with a password in place of the IAM token)
    assert rules == ["default off", f"aperture {deployed} >generated-password"]
