"""Daily: trains the feed's and explore's ranking models on the activity log, and promotes those the gate passes."""

import datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from aperture import wiring
from aperture.clock import now
from aperture.observability import observed


def run_day(event: dict[str, Any]) -> datetime.date:
    """The run's day: the schedule's firing time (a retry of a run is the same run), else now."""
    fired = event.get("time")
    if isinstance(fired, str):
        return datetime.datetime.fromisoformat(fired.replace("Z", "+00:00")).astimezone(datetime.UTC).date()
    return datetime.datetime.fromtimestamp(now(), tz=datetime.UTC).date()


@observed
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    reports = wiring.ranking_training().run(run_day(event))
    return {surface: {"promoted": r["promoted"], "reason": r["reason"]} for surface, r in reports.items()}
