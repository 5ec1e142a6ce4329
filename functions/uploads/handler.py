"""POST /uploads (a presigned S3 POST) and GET /uploads/{upload_id} (how far processing got)."""

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.api import COMMON_RESPONSES, RATE_LIMITED, IdempotencyKey, answered_once, caller, make_resolver, parse_id
from aperture.ids import new_id
from aperture.models.api import CreateUploadRequest, CreateUploadResponse, UploadStatusResponse
from aperture.observability import logger, observed

router = Router()


@router.post(
    "/uploads",
    summary="Start an upload",
    description="Returns a presigned S3 POST: send `fields`, then `file`, as multipart/form-data to `url`.",
    tags=["uploads"],
    status_code=201,
    responses={
        **COMMON_RESPONSES,
        **RATE_LIMITED,
        413: {"description": "content_length is over 10 MiB"},
        409: {"description": "A request with this Idempotency-Key is still being handled"},
        415: {"description": "content_type is not JPEG, PNG or HEIC"},
    },
)
def create_upload(body: CreateUploadRequest, idempotency_key: IdempotencyKey = None) -> CreateUploadResponse:
    user_id = caller(router).user_id

    def grant(ids: Callable[[], int]) -> CreateUploadResponse:
        return wiring.uploads().grant(user_id, body, ids)

    def charge() -> None:
        wiring.limiter().take(str(user_id), "posts" if body.kind == "post" else "stories")

    request = body.model_dump(mode="json")
    # Two ids: the upload's and its post's or story's
    granted = answered_once(
        router, wiring.replays(), idempotency_key, request, grant, CreateUploadResponse, new_id, 2, charge
    )
    # Its processing is correlated by the upload's id (aperture.uploads.upload_correlation_id): this line joins them
    logger.info("upload granted", extra={"upload_id": granted.upload_id, "kind": body.kind})
    return granted


@router.get(
    "/uploads/<upload_id>",
    summary="An upload's status",
    tags=["uploads"],
    responses={
        **COMMON_RESPONSES,
        403: {"description": "Not your upload"},
        404: {"description": "No such upload"},
    },
)
def get_upload(upload_id: str) -> UploadStatusResponse:
    return wiring.uploads().status(caller(router).user_id, parse_id(upload_id, "upload"))


app = make_resolver(router, standing=wiring.standing)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    wiring.replays().register(context)
    return app.resolve(event, context)
