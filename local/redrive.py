"""`python -m local.redrive`: gives archived failed stream batches back to their functions (README, "Redrive").

On AWS (the default) it lists the failure archive bucket with the operator's credentials and invokes each batch's
function with its archived event; with `--local URL` it asks a running `python -m local` to do the same in its
process, through the invoke path the event pump uses. Either way a record is deleted only once its function has
handled the whole batch; one that fails again stays for another try.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aperture.adapters.aws import client
from aperture.adapters.failure_archive import ArchivedFailure, FailureArchive
from aperture.adapters.lambdas import DeployedFunctions
from aperture.redrive import RedeliveryFailedError, Redrive, RedriveReport, Wanted, check_handled
from aperture.resources import FAILURE_ARCHIVE_BUCKET_PREFIX, FUNCTIONS, KinesisTrigger, TableStreamTrigger
from aperture.settings import Settings
from local.invoke import declared_name

Invoke = Callable[[str, dict[str, Any]], Any]
BUCKET_VARIABLE = "APERTURE_FAILURE_ARCHIVE_BUCKET"


def stream_consumers() -> list[str]:
    """The functions whose failed batches can be archived: those triggered by a Kinesis or DynamoDB stream."""
    return [f.name for f in FUNCTIONS if isinstance(f.trigger, KinesisTrigger | TableStreamTrigger)]


def parse_since(text: str | None) -> datetime | None:
    """An ISO 8601 time (UTC unless it says otherwise), e.g. 2026-05-01 or 2026-05-01T12:00:00Z."""
    if not text:
        return None
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def _only(function: str | None, name_of: Callable[[str], str | None]) -> Wanted:
    if function is None:
        return lambda failure: True
    return lambda failure: name_of(failure.function_arn) == function


def local_redrive(invoke: Invoke, settings: Settings, function: str | None, since: datetime | None) -> RedriveReport:
    """The local platform's archive, each batch given to its function in this process (as the pump gives it)."""

    def deliver(failure: ArchivedFailure) -> None:
        name = declared_name(failure.function_arn)
        if name is None:
            raise RedeliveryFailedError(f"{failure.function_arn} names no declared function")
        check_handled(invoke(name, failure.event))

    archive = FailureArchive(client("s3"), settings.failure_archive_bucket)
    return Redrive(archive, deliver).run(_only(function, declared_name), since)


def aws_redrive(
    s3: Any, lambda_client: Any, bucket: str, function: str | None, since: datetime | None
) -> RedriveReport:
    """A deployment's archive, each batch invoked on the function that gave up on it (lambda:InvokeFunction)."""
    deployed = DeployedFunctions(lambda_client)

    def deliver(failure: ArchivedFailure) -> None:
        check_handled(deployed.invoke(failure.function_arn, failure.event))

    return Redrive(FailureArchive(s3, bucket), deliver).run(_only(function, deployed.declared_name), since)


def deployed_bucket(session: Any) -> str:
    """The archive bucket the stateful stack names for the session's account and region (stacks.constructs.naming)."""
    account = session.client("sts").get_caller_identity()["Account"]
    return f"{FAILURE_ARCHIVE_BUCKET_PREFIX}{account}-{session.region_name}"


def _ask_local(base: str, function: str | None, since: str | None) -> dict[str, Any]:
    if not base.startswith(("http://", "https://")):
        raise ValueError(f"--local takes the platform's http:// address, not {base!r}")
    body = json.dumps({"function": function, "since": since}).encode()
    url = f"{base.rstrip('/')}/_local/redrive"
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"}, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310 (the scheme is checked above)
        answer: dict[str, Any] = json.load(response)
    return answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.redrive",
        description="Give archived failed stream batches back to their functions; each record is deleted once its "
        "function handled the whole batch.",
    )
    parser.add_argument("--function", choices=stream_consumers(), help="only this function's batches (default: all)")
    parser.add_argument("--since", help="only batches archived at or after this ISO 8601 time (UTC if no zone)")
    parser.add_argument(
        "--bucket",
        help=f"the failure archive bucket on AWS (default: ${BUCKET_VARIABLE}, else the stateful stack's "
        f"{FAILURE_ARCHIVE_BUCKET_PREFIX}<account>-<region> for the credentials' account and region)",
    )
    parser.add_argument(
        "--local", metavar="URL", help="redrive a running `python -m local` (e.g. http://127.0.0.1:8000)"
    )
    args = parser.parse_args(argv)
    try:
        since = parse_since(args.since)
    except ValueError as error:
        parser.error(f"--since: {error}")
    if args.local:
        report = _ask_local(args.local, args.function, args.since)
    else:
        import boto3

        session = boto3.session.Session()
        if session.region_name is None:
            parser.error("no AWS region: set AWS_REGION (or a profile's region) to the deployment's")
        bucket = args.bucket or os.environ.get(BUCKET_VARIABLE) or deployed_bucket(session)
        report = aws_redrive(session.client("s3"), session.client("lambda"), bucket, args.function, since).as_dict()
    print(json.dumps(report, indent=2))
    return 0 if not report["failed"] and not report["unreadable"] else 1


if __name__ == "__main__":
    sys.exit(main())
