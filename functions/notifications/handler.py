"""The in-app notification feed, its read marker, and the devices that receive push."""

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.api import COMMON_RESPONSES, Cursor, Limit, caller, make_resolver
from aperture.models.api import DeviceRequest, DeviceView, MarkReadRequest, NotificationPage, UnreadCount
from aperture.observability import observed

router = Router()


@router.get(
    "/notifications",
    summary="Your notifications, newest first, with the unread count",
    tags=["notifications"],
    responses=COMMON_RESPONSES,
)
def list_notifications(cursor: Cursor = None, limit: Limit = 20) -> NotificationPage:
    return wiring.inbox().page(caller(router).user_id, limit, cursor)


@router.post(
    "/notifications/read",
    summary="Mark a notification and every older one read",
    tags=["notifications"],
    responses=COMMON_RESPONSES,
)
def mark_read(body: MarkReadRequest) -> UnreadCount:
    return UnreadCount(unread_count=wiring.inbox().mark_read(caller(router).user_id, int(body.up_to)))


@router.post(
    "/devices",
    summary="Register a device for push (APNs or FCM)",
    tags=["notifications"],
    status_code=201,
    responses=COMMON_RESPONSES,
)
def register_device(body: DeviceRequest) -> DeviceView:
    return wiring.inbox().register_device(caller(router).user_id, body.platform, body.token)


@router.delete(
    "/devices/<device_id>",
    summary="Stop push to a device",
    tags=["notifications"],
    status_code=204,
    responses={**COMMON_RESPONSES, 404: {"description": "Not one of your devices"}},
)
def remove_device(device_id: str) -> None:
    wiring.inbox().remove_device(caller(router).user_id, device_id)


app = make_resolver(router, standing=wiring.standing_from_table)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
