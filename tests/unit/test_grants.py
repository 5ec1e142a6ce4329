"""The grant checker the test suite runs every function call through: it must refuse what IAM would."""

from __future__ import annotations

from aperture.settings import get_settings
from tests.grants import check


def test_a_table_outside_the_grants_is_refused_and_one_inside_is_allowed() -> None:
    posts = get_settings().table_posts
    assert check("feed", "dynamodb", "GetItem", {"TableName": posts}) == []
    assert check("feed", "dynamodb", "PutItem", {"TableName": posts}) == [
        "feed: dynamodb:PutItem on table:posts is not granted"
    ]


def test_each_part_of_a_transaction_needs_its_own_grant() -> None:
    settings = get_settings()
    transaction = {
        "TransactItems": [
            {"Put": {"TableName": settings.table_stories}},
            {"Update": {"TableName": settings.table_uploads}},
            {"ConditionCheck": {"TableName": settings.table_follows}},
        ]
    }
    assert check("post_ingest", "dynamodb", "TransactWriteItems", transaction) == []
    assert check("uploads", "dynamodb", "TransactWriteItems", transaction) == [
        "uploads: dynamodb:PutItem on table:stories is not granted",
        "uploads: dynamodb:ConditionCheckItem on table:follows is not granted",
    ]


def test_bucket_grants_are_per_prefix_and_deleting_is_a_write() -> None:
    deleting = {"Bucket": "b", "Delete": {"Objects": [{"Key": "images/1/2/150.jpg"}]}}
    assert check("cascade", "s3", "DeleteObjects", deleting) == []
    assert check("moderation", "s3", "DeleteObjects", deleting) == [
        "moderation: s3:DeleteObject on bucket images/... is not granted"
    ]
    assert check("uploads", "s3", "PutObject", {"Bucket": "b", "Key": "images/1/2/150.jpg"}) != []
    assert check("uploads", "s3", "PutObject", {"Bucket": "b", "Key": "uploads/1/2"}) == []


def test_streams_and_queues_are_checked_by_name() -> None:
    settings = get_settings()
    assert check("stories", "kinesis", "PutRecord", {"StreamName": settings.stream_story_views}) == []
    assert check("stories", "kinesis", "PutRecord", {"StreamName": settings.stream_events}) != []
    queue = f"http://localhost/123/{settings.queue_fanout}"
    assert check("post_ingest", "sqs", "SendMessageBatch", {"QueueUrl": queue}) == []
    assert check("feed", "sqs", "SendMessageBatch", {"QueueUrl": queue}) != []


def test_the_explore_index_is_used_only_under_a_search_grant() -> None:
    from aperture.adapters.vectors import FaissIndex
    from local.invoke import running
    from tests import grants

    index = FaissIndex(2)
    for name in ("feed", "explore_refresh", "explore"):
        token = running.set(name)
        try:
            index.replace("g1", {1: [1.0, 0.0]})
            index.nearest([1.0, 0.0], 1)
        finally:
            running.reset(token)
    found, grants.violations[:] = list(grants.violations), []
    assert found == [
        "feed: write on the explore k-NN index (search:explore) is not granted",
        "feed: read on the explore k-NN index (search:explore) is not granted",
        "explore_refresh: read on the explore k-NN index (search:explore) is not granted",
        "explore: write on the explore k-NN index (search:explore) is not granted",
    ]


def test_the_auth_function_may_make_only_the_cognito_calls_its_named_grants_allow() -> None:
    for allowed in ("AdminCreateUser", "AdminInitiateAuth", "AdminUserGlobalSignOut", "DescribeUserPoolClient"):
        assert check("auth", "cognito-idp", allowed, {}) == []
    # Setting a password, deleting, reading or disabling any user (a moderator included) is outside them
    for refused in (
        "AdminSetUserPassword",
        "AdminDeleteUser",
        "AdminGetUser",
        "AdminDisableUser",
        "AdminAddUserToGroup",
    ):
        assert check("auth", "cognito-idp", refused, {}) == [f"auth: cognito-idp:{refused} on user_pool is not granted"]
    # Calls Cognito authorizes by the user's own access token need no IAM grant
    assert check("auth", "cognito-idp", "VerifySoftwareToken", {}) == []
    # A function without a user-pool grant may make none
    assert check("feed", "cognito-idp", "AdminInitiateAuth", {}) != []
