"""Reports and the moderators' tools: POST /reports for everyone; the queue, its resolutions and the hash blocklist
for the moderators' group."""

from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.api import (
    COMMON_RESPONSES,
    RATE_LIMITED,
    Cursor,
    IdempotencyKey,
    Limit,
    answered_once,
    caller,
    make_resolver,
    parse_id,
)
from aperture.errors import InvalidInputError
from aperture.ids import new_id
from aperture.models.api import (
    BlockRequest,
    BlockResponse,
    ModerationEntry,
    ModerationPage,
    ReportReceipt,
    ReportRequest,
    ReportResponse,
    ReportStatus,
    ResolveRequest,
)
from aperture.observability import logger, observed
from aperture.settings import get_settings

router = Router()
MODERATORS_ONLY: dict[int, OpenAPIResponse] = {403: {"description": "The caller is not in the moderators group"}}


@router.post(
    "/reports",
    summary="Report a post, a comment, a story or an account",
    description=(
        "201 with a new report; 200 with the same `report_id` when the caller reported this target before. "
        "The reported account is never told who reported it."
    ),
    tags=["moderation"],
    status_code=201,
    responses={
        **COMMON_RESPONSES,
        200: {"description": "Reported before by the caller: the same report"},
        404: {"description": "No such target, or one the caller may not see (blocked, private)"},
        409: {"description": "A request with this Idempotency-Key is still being handled"},
        422: {"description": "An invalid request, or the caller's own account or content (`cannot_report_own`)"},
        **RATE_LIMITED,
    },
)
def report(body: ReportRequest, idempotency_key: IdempotencyKey = None) -> Response[ReportResponse]:
    reporter = caller(router).user_id

    def file(ids: Callable[[], int]) -> ReportReceipt:
        return wiring.reports().file(reporter, body, ids)

    def charge() -> None:  # the reporter's bucket of reports, before anything is read or written
        wiring.limiter().take(str(reporter), "reports")

    request = body.model_dump(mode="json")
    receipt = answered_once(router, wiring.replays(), idempotency_key, request, file, ReportReceipt, new_id, 1, charge)
    return Response(
        status_code=201 if receipt.created else 200,
        content_type="application/json",
        body=ReportResponse(report_id=receipt.report_id),
    )


@router.get(
    "/admin/reports",
    summary="The moderation queue: one entry per reported target, most reported first (moderators only)",
    tags=["moderation"],
    responses={**COMMON_RESPONSES, **MODERATORS_ONLY},
)
def moderation_queue(
    status: Annotated[ReportStatus, Query(description="open (the default) or resolved")] = "open",
    cursor: Cursor = None,
    limit: Limit = 20,
) -> ModerationPage:
    caller(router).require_group(get_settings().moderator_group)
    items, next_cursor = wiring.reports().queue(status, limit, cursor)
    return ModerationPage(items=items, next_cursor=next_cursor)


@router.post(
    "/admin/reports/<report_id>/resolve",
    summary="Resolve a queue entry: dismiss, remove the content, suspend or restore the account (moderators only)",
    tags=["moderation"],
    responses={
        **COMMON_RESPONSES,
        **MODERATORS_ONLY,
        404: {"description": "No such report"},
        409: {"description": "restore of an account its owner erased"},
        422: {"description": "An invalid request, or `remove` of an account (`not_removable`: suspend it)"},
    },
)
def resolve(report_id: str, body: ResolveRequest) -> ModerationEntry:
    moderator = caller(router)
    moderator.require_group(get_settings().moderator_group)
    entry = wiring.reports().resolve(moderator.user_id, parse_id(report_id, "report"), body.action)
    logger.info(
        "report resolved", extra={"report_id": report_id, "action": body.action, "moderator": moderator.user_id}
    )
    return entry


@router.post(
    "/admin/blocklist",
    summary="Block a post's or a story's image (moderators only)",
    tags=["moderation"],
    status_code=201,
    responses={
        **COMMON_RESPONSES,
        **MODERATORS_ONLY,
        404: {"description": "No such post or story"},
    },
)
def add_to_blocklist(body: BlockRequest) -> BlockResponse:
    moderator = caller(router)
    moderator.require_group(get_settings().moderator_group)
    blocker = wiring.image_blocker()
    if body.story_id is not None:
        image_hash = blocker.block_story(int(body.story_id), body.reason, moderator.user_id)
    elif body.post_id is not None:
        image_hash = blocker.block_post(int(body.post_id), body.reason, moderator.user_id)
    else:  # (BlockRequest admits no such request; this keeps a change there from reaching block_post with None)
        raise InvalidInputError("name exactly one of post_id and story_id")
    extra = {"post_id": body.post_id, "story_id": body.story_id, "moderator": moderator.user_id}
    logger.info("image blocked", extra=extra)
    return BlockResponse(post_id=body.post_id, story_id=body.story_id, hash=f"{image_hash:016x}")


app = make_resolver(router, standing=wiring.standing)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
