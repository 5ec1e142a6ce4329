"""DynamoDB list cursors: what a client may send back, and what is refused with 422 rather than a 500."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from aperture.adapters.dynamo.common import decode_cursor, encode_cursor, query_page
from aperture.errors import InvalidCursorError


def test_a_cursor_round_trips_and_anything_else_is_refused() -> None:
    cursor = encode_cursor({"post_id": 5, "user_id": 7})
    assert decode_cursor(cursor, ("post_id", "user_id")) == {"post_id": 5, "user_id": 7}
    for bad in ("%%%", encode_cursor({"post_id": 5}), encode_cursor({"post_id": 5, "user_id": 2**63})):
        with pytest.raises(InvalidCursorError):
            decode_cursor(bad, ("post_id", "user_id"))


def test_a_cursor_of_another_list_is_refused_as_dynamodb_refuses_it() -> None:
    # Given a well-formed cursor whose key lies outside the partition queried (real DynamoDB answers
    # ValidationException "The provided starting key is invalid"; moto does not check)
    table = boto3.resource("dynamodb", region_name="us-east-1").Table("aperture-likes")
    stubber = Stubber(table.meta.client)
    stubber.add_client_error("query", "ValidationException", "The provided starting key is invalid", 400)
    with stubber, pytest.raises(InvalidCursorError):
        query_page(
            table,
            ("post_id", "user_id"),
            10,
            encode_cursor({"post_id": 9, "user_id": 1}),
            KeyConditionExpression="post_id = :p",
            ExpressionAttributeValues={":p": 5},
        )
    # And without a cursor the same error is not the client's: it is raised as it is
    stubber.add_client_error("query", "ValidationException", "something else", 400)
    with stubber, pytest.raises(Exception, match="something else"):
        query_page(
            table,
            ("post_id", "user_id"),
            10,
            None,
            KeyConditionExpression="post_id = :p",
            ExpressionAttributeValues={":p": 5},
        )
