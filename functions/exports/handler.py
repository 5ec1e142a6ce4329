"""POST /me/export (start a data export) and GET /me/exports/{export_id} (its progress, then its download link)."""

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.api import COMMON_RESPONSES, caller, make_resolver, parse_id
from aperture.ids import new_id
from aperture.models.api import ExportStarted, ExportStatusResponse
from aperture.observability import observed

router = Router()


@router.post(
    "/me/export",
    summary="Export your data",
    description="Starts building a ZIP of your profile, posts (with every photo's largest JPEG), comments, likes, "
    "follows and stories. While one is still being built, asking again answers with that one.",
    tags=["account"],
    status_code=202,
    responses=COMMON_RESPONSES,
)
def start_export() -> ExportStarted:
    return ExportStarted(export_id=str(wiring.exports().start(caller(router).user_id, new_id)))


@router.get(
    "/me/exports/<export_id>",
    summary="An export's progress, and its download link once ready",
    description="`url` downloads the ZIP until `expires_at` (a day after it was ready); poll while `pending`.",
    tags=["account"],
    responses={**COMMON_RESPONSES, 404: {"description": "You have no export with this id"}},
)
def get_export(export_id: str) -> ExportStatusResponse:
    return wiring.exports().status(caller(router).user_id, parse_id(export_id, "export"))


app = make_resolver(router, standing=wiring.standing_from_table)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
