"""EventBridge schedules for the functions declared with a ScheduleTrigger (aperture.resources)."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from aperture.resources import ScheduleTrigger

from .functions import ASYNC_RETRIES, ServiceFunction, failure_queue

# The bounds AWS puts on how long a failed invocation may be retried.
_MIN_EVENT_AGE = Duration.minutes(1)
_MAX_TARGET_EVENT_AGE = Duration.hours(24)  # EventBridge target retry policy
_MAX_ASYNC_EVENT_AGE = Duration.hours(6)  # Lambda asynchronous invocation


def _within(age: Duration, low: Duration, high: Duration) -> Duration:
    return Duration.seconds(min(max(age.to_seconds(), low.to_seconds()), high.to_seconds()))


class ScheduledInvocation(Construct):
    """A rule that invokes one function every `rate_minutes`, and the queue where the runs that failed end up.

    A run is retried only until the next one is due: a stale retry would redo what the next run does anyway, and
    every run of a frequent schedule piling up retries would multiply the load exactly when something is wrong.
    Both ways a run can fail end in the same queue: EventBridge failing to invoke the function (the target's
    dead-letter queue) and the function failing (Lambda's on-failure destination; EventBridge invokes
    asynchronously, so it never sees the function's own errors).
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, function: lambda_.Function, trigger: ScheduleTrigger
    ) -> None:
        super().__init__(scope, construct_id)
        period = Duration.minutes(trigger.rate_minutes)
        self.failures: sqs.Queue = failure_queue(self)
        self.rule = events.Rule(
            self,
            "Rule",
            description=f"Runs {construct_id} every {trigger.rate_minutes} minute(s)",
            schedule=events.Schedule.rate(period),
            targets=[
                targets.LambdaFunction(
                    function,
                    dead_letter_queue=self.failures,
                    retry_attempts=ASYNC_RETRIES,
                    max_event_age=_within(period, _MIN_EVENT_AGE, _MAX_TARGET_EVENT_AGE),
                )
            ],
        )
        function.configure_async_invoke(
            on_failure=destinations.SqsDestination(self.failures),
            retry_attempts=ASYNC_RETRIES,
            max_event_age=_within(period, _MIN_EVENT_AGE, _MAX_ASYNC_EVENT_AGE),
        )


class Schedules(Construct):
    """One ScheduledInvocation per function whose declaration has a ScheduleTrigger, by function name."""

    def __init__(self, scope: Construct, construct_id: str, *, functions: Mapping[str, ServiceFunction]) -> None:
        super().__init__(scope, construct_id)
        self.by_name: dict[str, ScheduledInvocation] = {}
        for name, service_function in functions.items():
            trigger = service_function.declaration.trigger
            if isinstance(trigger, ScheduleTrigger):
                self.by_name[name] = ScheduledInvocation(
                    self, service_function.node.id, function=service_function.function, trigger=trigger
                )
