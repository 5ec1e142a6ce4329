"""Starts the whole platform on 127.0.0.1: emulated AWS, Redis, the event pump, the gateway."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from aperture import wiring
from aperture.adapters.aws import client
from aperture.clock import ShiftedClock, use_clock
from aperture.observability import METRICS_NAMESPACE, logger
from aperture.settings import get_settings, setting_variable
from local.emulation import start_moto
from local.gateway import Gateway
from local.invoke import invoke
from local.memory import allowed as memory_tracing_allowed
from local.memory import by_owner as memory_by_owner
from local.memory import moto_storage
from local.provision import provision
from local.pump import EventPump, Invoke
from local.redis_server import embedded_redis, stop_embedded_redis
from local.redrive import local_redrive, parse_since, stream_consumers
from local.scheduler import Scheduler

PUMP_IDLE_SECONDS = 0.05
DEMO_CELEBRITY_THRESHOLD = 25


def _json(status: int, body: Any) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


@dataclass
class LocalPlatform:
    port: int
    server: BaseWSGIServer
    pump: EventPump
    scheduler: Scheduler
    schedules: str
    clock: ShiftedClock
    stop_event: threading.Event
    moto: Any
    failed: bool = False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def serve_forever(self) -> None:
        pollers = self.pump.run_in_background(self.stop_event, PUMP_IDLE_SECONDS)
        if self.schedules == "auto":
            pollers += self.scheduler.run_in_background(self.stop_event)
        try:
            self.server.serve_forever()
        finally:
            self.stop_event.set()
            self.pump.nudge()
            for poller in pollers:
                poller.join(timeout=10)
            self.moto.stop()
            stop_embedded_redis()

    def shutdown(self) -> None:
        self.stop_event.set()
        self.pump.nudge()
        threading.Thread(target=self.server.shutdown, daemon=True).start()


def _controls(
    pump: EventPump, clock: ShiftedClock, jobs: dict[str, Callable[[], Any]], invoke: Invoke
) -> dict[str, Any]:
    def drain(_: Request, __: str) -> Response:
        return _json(200, {"delivered": pump.drain()})

    def run(_: Request, job: str) -> Response:
        if job not in jobs:
            known = ", ".join(sorted(jobs)) or "none yet"
            return _json(404, {"error": {"code": "unknown_job", "message": f"no job {job!r}; known: {known}"}})
        jobs[job]()
        return _json(200, {"job": job, "delivered": pump.drain()})

    def advance(request: Request, _: str) -> Response:
        try:
            raw = (request.get_json(silent=True) or {})["advance_seconds"]
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                raise TypeError(f"advance_seconds must be a number, not {raw!r}")
            offset = clock.advance(float(raw))
        except (KeyError, TypeError, ValueError) as error:
            message = f'send {{"advance_seconds": <non-negative number>}} ({error})'
            return _json(422, {"error": {"code": "invalid_request", "message": message}})
        return _json(200, {"offset_seconds": offset})

    def moderator(request: Request, _: str) -> Response:
        username = str((request.get_json(silent=True) or {}).get("username", ""))
        settings = get_settings()
        try:
            client("cognito-idp").admin_add_user_to_group(
                UserPoolId=settings.user_pool_id, Username=username, GroupName=settings.moderator_group
            )
        except ClientError as error:
            return _json(404, {"error": {"code": "user_not_found", "message": f"no user {username!r} ({error})"}})
        return _json(200, {"username": username, "group": settings.moderator_group, "note": "sign in again"})

    def redrive(request: Request, _: str) -> Response:
        body = request.get_json(silent=True) or {}
        function = body.get("function")
        if function is not None and function not in stream_consumers():
            known = ", ".join(stream_consumers())
            message = f"no stream consumer {function!r}; known: {known}"
            return _json(422, {"error": {"code": "invalid_request", "message": message}})
        try:
            since = parse_since(body.get("since"))
        except (TypeError, ValueError) as error:
            return _json(422, {"error": {"code": "invalid_request", "message": f"since: {error}"}})
        report = local_redrive(invoke, get_settings(), function, since)
        # What the redelivered batches produced (events, jobs) is delivered before answering, as /_local/run does.
        return _json(200, {**report.as_dict(), "delivered": pump.drain()})

    def memory(_: Request, __: str) -> Response:
        owners = memory_by_owner(start=memory_tracing_allowed())
        return _json(200, {"moto": moto_storage(), **({"traced_bytes": owners} if owners is not None else {})})

    return {
        "drain": drain,
        "run": run,
        "clock": advance,
        "moderator": moderator,
        "redrive": redrive,
        "memory": memory,
    }


def _not_ready(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting"]


def start(port: int) -> LocalPlatform:
    """Provision everything and bind the gateway; call serve_forever() on the result to serve."""
    # The emulator and the event pump talk many times a second; their access lines would bury ours.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # Local names and defaults stand in for what the stacks set on AWS, even if Lambda's variables are about.
    os.environ["APERTURE_LOCAL"] = "1"
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_REGION", "us-east-1")
    os.environ["AWS_DEFAULT_REGION"] = os.environ["AWS_REGION"]
    os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "aperture")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    # The functions' logger may exist already (imported with this module); give it the level asked for.
    logger.setLevel(os.environ["POWERTOOLS_LOG_LEVEL"])
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", METRICS_NAMESPACE)
    # No X-Ray daemon listens here: the functions' Tracer runs the same code with the SDK switched off.
    os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"
    moto, endpoint = start_moto()
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    if not os.environ.get("REDIS_URL"):
        # As on AWS, the platform authenticates as its own user (here with a password made for this run).
        embedded = embedded_redis()
        os.environ["REDIS_URL"] = embedded.url
        os.environ[setting_variable("redis_user")] = embedded.login.user
        os.environ[setting_variable("redis_password")] = embedded.login.password
    wiring.reset()
    resources = provision(get_settings())
    os.environ["APERTURE_USER_POOL_ID"] = resources.user_pool_id
    os.environ["APERTURE_USER_POOL_CLIENT_ID"] = resources.user_pool_client_id
    os.environ["APERTURE_JWKS_URL"] = f"{endpoint}/{resources.user_pool_id}/.well-known/jwks.json"
    os.environ["APERTURE_SNS_APNS_APPLICATION_ARN"] = resources.push_applications["apns"]
    os.environ["APERTURE_SNS_FCM_APPLICATION_ARN"] = resources.push_applications["fcm"]
    for key, url in resources.queues.items():
        os.environ[f"APERTURE_QUEUE_{key.upper()}"] = url
    # Bind first: the CDN base the functions put in image URLs needs the real port.
    server = make_server("127.0.0.1", port, _not_ready, threaded=True)
    bound_port = server.server_address[1]
    os.environ["APERTURE_CDN_BASE"] = f"http://127.0.0.1:{bound_port}/cdn"
    wiring.reset()

    clock = ShiftedClock()
    use_clock(clock)
    settings = get_settings()
    pump = EventPump(invoke, settings, resources.notification_queue_url, resources.failure_queue_url)
    scheduler = Scheduler(invoke, settings.region)
    controls = _controls(pump, clock, scheduler.jobs, invoke)
    # An API request may write events; the pump's idle pollers look for them at once rather than at their next tick.
    server.app = Gateway(invoke, wiring.token_verifier, wiring.media_store, controls, after_api=pump.nudge)
    return LocalPlatform(bound_port, server, pump, scheduler, settings.schedules, clock, threading.Event(), moto)


def main(port: int, seed_demo: int | None = None) -> int:
    if seed_demo:
        # The demo world is small, so its few stars need a small threshold to be celebrities.
        os.environ.setdefault("APERTURE_CELEBRITY_THRESHOLD", str(DEMO_CELEBRITY_THRESHOLD))
    platform = start(port)
    if seed_demo:
        from local.demo import DEMO_PASSWORD, seed

        seeded = seed(seed_demo, celebrity_threshold=int(os.environ["APERTURE_CELEBRITY_THRESHOLD"]))
        platform.pump.drain()
        # Explore's first model now rather than at the schedule's first tick, 15 minutes on.
        explore = platform.scheduler.run("explore_refresh")
        platform.pump.drain()
        print(
            f"demo: {seeded.users} users (demo000.. , password {DEMO_PASSWORD}), {seeded.follows} follows, "
            f"{seeded.posts} posts, {seeded.likes} likes, {seeded.comments} comments, "
            f"{seeded.celebrities} celebrities, {seeded.stories} live stories, {seeded.story_views} story views, "
            f"explore over {explore['posts']} posts",
            flush=True,
        )

    def stop(signum: int, _: Any) -> None:
        print(f"stopping (signal {signum})", flush=True)
        platform.shutdown()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    ready = threading.Thread(target=_announce, args=(platform,), daemon=True)
    ready.start()
    platform.serve_forever()
    return 1 if platform.failed else 0


def _announce(platform: LocalPlatform) -> None:
    for _ in range(100):
        try:
            with urllib.request.urlopen(f"{platform.base_url}/health", timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    break
        except OSError:
            platform.stop_event.wait(0.05)
    else:
        # Never READY for a platform that does not answer: say so and stop (`python -m local` exits 1).
        print(f"FAILED  {platform.base_url}/health did not answer; stopping", file=sys.stderr, flush=True)
        platform.failed = True
        platform.shutdown()
        return
    print(f"API     {platform.base_url}/", flush=True)
    print(f"CDN     {platform.base_url}/cdn", flush=True)
    print(f"Web     {platform.base_url}/app/", flush=True)
    print(f"AWS     {os.environ['AWS_ENDPOINT_URL']} (moto)", flush=True)
    user = os.environ.get(setting_variable("redis_user"))
    print(f"Redis   {os.environ['REDIS_URL']}" + (f" (user {user})" if user else ""), flush=True)
    print("READY", flush=True)
