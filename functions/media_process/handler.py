"""S3 ObjectCreated under uploads/: validate, render every size and format, publish 'post ready'."""

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.api import logger
from aperture.clock import now_ms
from aperture.media import process_upload
from aperture.settings import get_settings


@logger.inject_lambda_context
@event_source(data_class=S3Event)
def lambda_handler(event: S3Event, context: LambdaContext) -> dict[str, Any]:
    settings = get_settings()
    outcomes = {}
    for record in event.records:
        key = unquote_plus(record.s3.get_object.key)  # S3 events carry keys URL-encoded
        outcomes[key] = process_upload(
            key,
            wiring.media_store(),
            wiring.uploads(),
            wiring.events(),
            settings.max_upload_bytes,
            settings.max_image_pixels,
            now_ms,
        )
        logger.info("upload processed", extra={"key": key, "status": outcomes[key]})
    return {"outcomes": outcomes}
