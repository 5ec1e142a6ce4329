"""S3 ObjectCreated under uploads/: validate, moderate, render every size and format, publish 'post ready'."""

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.media.carousel import process_object
from aperture.observability import correlated, logger, observed
from aperture.uploads import upload_correlation_id


@observed
@event_source(data_class=S3Event)
def lambda_handler(event: S3Event, context: LambdaContext) -> dict[str, Any]:
    outcomes = {}
    for record in event.records:
        key = unquote_plus(record.s3.get_object.key)  # S3 events carry keys URL-encoded
        with correlated(upload_correlation_id(key)):
            outcomes[key] = process_object(key, wiring.media_ports(), wiring.media_limits())
            logger.info("upload processed", extra={"key": key, "outcome": outcomes[key]})
    return {"outcomes": outcomes}
