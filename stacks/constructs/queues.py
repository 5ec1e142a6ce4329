"""The SQS work queues, built from the declarations in aperture.resources, each with its dead-letter queue."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from aperture.resources import Function, Queue, SqsTrigger

# How often a message may be received before it is dead-lettered when no function consumes the queue.
DEFAULT_MAX_RECEIVES = 5
# SQS's longest retention: two weeks to look at a dead-lettered job and redrive it.
DEAD_LETTER_RETENTION = Duration.days(14)


def consumers_of(queue: Queue, functions: Iterable[Function]) -> list[Function]:
    """The functions whose trigger is `queue`."""
    return [f for f in functions if isinstance(f.trigger, SqsTrigger) and f.trigger.queue == queue.key]


def max_receives(queue: Queue, functions: Iterable[Function]) -> int:
    """The redrive policy's maxReceiveCount: the consumer's SqsTrigger.max_receives, or the default without one."""
    declared = {f.trigger.max_receives for f in consumers_of(queue, functions) if isinstance(f.trigger, SqsTrigger)}
    if len(declared) > 1:
        # One queue has one redrive policy; consumers that disagree on it cannot both be honoured.
        raise ValueError(f"the consumers of queue {queue.key!r} declare different max_receives: {sorted(declared)}")
    return declared.pop() if declared else DEFAULT_MAX_RECEIVES


def check_consumer(queue: Queue, function: Function) -> None:
    """Refuse a consumer that could outlive its message's visibility timeout (Lambda refuses such a mapping).

    Lengthening the timeout here would quietly change the declaration the local runtime also provisions from, so
    the declaration itself has to change.
    """
    if queue.visibility_timeout_seconds < function.timeout_seconds:
        raise ValueError(
            f"queue {queue.key!r} has a visibility timeout of {queue.visibility_timeout_seconds}s, shorter than the "
            f"{function.timeout_seconds}s timeout of its consumer {function.name!r}; Lambda requires the visibility "
            "timeout to be at least the function timeout (AWS recommends six times it): raise "
            f"Queue(key={queue.key!r}, visibility_timeout_seconds=...) in aperture.resources"
        )
    reads = any(g.resource == f"queue:{queue.key}" and g.access in ("read", "read_write") for g in function.grants)
    if not reads:
        # The event source mapping consumes with the function's role; the grant is what says so in the declarations.
        raise ValueError(
            f"function {function.name!r} is triggered by queue {queue.key!r} but has no "
            f"Grant('queue:{queue.key}', 'read') in aperture.resources"
        )


class WorkQueues(Construct):
    """One standard queue per declaration: SQS-managed encryption, TLS only, the declared visibility timeout.

    A message received `max_receives` times without being deleted (its consumer reported it failed, or timed out)
    moves to the queue's dead-letter queue, kept for two weeks. Physical names are left to CloudFormation (the
    functions get the URL in their environment). Queues hold derived work (fanout jobs are recomputed from the
    follows table, and timelines are rebuilt on return), so they go with the stack rather than being retained.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, declarations: Iterable[Queue], consumers: Iterable[Function]
    ) -> None:
        super().__init__(scope, construct_id)
        functions = tuple(consumers)
        self.declarations: dict[str, Queue] = {}
        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letters: dict[str, sqs.Queue] = {}
        for declaration in declarations:
            name = "".join(part.capitalize() for part in declaration.key.split("_"))
            dead_letters = sqs.Queue(
                self,
                f"{name}DeadLetters",
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                retention_period=DEAD_LETTER_RETENTION,
            )
            self.queues[declaration.key] = sqs.Queue(
                self,
                name,
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                visibility_timeout=Duration.seconds(declaration.visibility_timeout_seconds),
                dead_letter_queue=sqs.DeadLetterQueue(
                    queue=dead_letters, max_receive_count=max_receives(declaration, functions)
                ),
            )
            self.dead_letters[declaration.key] = dead_letters
            self.declarations[declaration.key] = declaration
