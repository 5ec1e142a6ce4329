"""Every five minutes: end the stories whose 24 hours are up (archive to highlights, or delete their images)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.clock import now_ms
from aperture.observability import logger
from aperture.settings import get_settings
from aperture.stories import expire_stories, restore_live_sets


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    cache = wiring.story_cache()
    restored = restore_live_sets(wiring.story_repository(), cache, get_settings().story_ttl_seconds, now_ms())
    if restored is not None:
        logger.warning("Redis had lost the live stories; restored from DynamoDB", extra={"stories": restored})
    outcome = expire_stories(
        wiring.story_repository(), wiring.highlights(), wiring.users(), wiring.media_store(), wiring.story_cache(),
        now_ms(),
    )  # fmt: skip
    logger.info("stories ended", extra={"archived": outcome.archived, "deleted": outcome.deleted})
    return {"archived": outcome.archived, "deleted": outcome.deleted}
