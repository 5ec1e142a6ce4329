"""GET /health: the API answers."""

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture.api import make_resolver
from aperture.models.api import Health
from aperture.observability import observed

router = Router()


@router.get("/health", summary="Liveness probe", tags=["health"])
def get_health() -> Health:
    return Health()


app = make_resolver(router)


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
