"""The local HTTP gateway: API Gateway HTTP API v2 events from the one route table, the CDN, control routes."""

from __future__ import annotations

import base64
import json
import mimetypes
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from aperture.adapters.cognito import TokenVerifier
from aperture.adapters.s3 import IMMUTABLE, MediaStore
from aperture.cdn import FALLBACK_CACHE_CONTROL, candidate_keys, content_type
from aperture.errors import UnauthorizedError
from aperture.resources import WEB_APP_PATH, web_app_config, web_app_csp
from aperture.routes import ROUTES, Route
from aperture.settings import get_settings

Invoke = Callable[[str, dict[str, Any]], Any]
WEB_ROOT = Path(__file__).resolve().parent.parent / "web" / "dist"
# Built assets carry a content hash in their names, so they never change under a URL.
HASHED_ASSETS = "assets/"
TEXTUAL = re.compile(r"^(application/(json|x-www-form-urlencoded)|text/)")


@dataclass(frozen=True)
class CompiledRoute:
    route: Route
    pattern: re.Pattern[str]


def compile_routes(routes: Iterable[Route] = ROUTES) -> list[CompiledRoute]:
    compiled = []
    for route in routes:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route.path))
        compiled.append(CompiledRoute(route, re.compile(f"^{regex}$")))
    # Literal segments win over parameters, as in API Gateway.
    return sorted(compiled, key=lambda c: c.route.path.count("{"))


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers or {}, content_type="application/json")


def _error(status: int, code: str, message: str) -> Response:
    return _json(status, {"error": {"code": code, "message": message}})


def _claim(value: Any) -> str:
    """Claims as the JWT authorizer hands them on: strings, with arrays flattened to "[a b]"."""
    if isinstance(value, list | tuple):
        return "[" + " ".join(str(v) for v in value) + "]"
    return str(value)


def http_api_event(
    request: Request, route: Route, params: dict[str, str], claims: dict[str, Any] | None
) -> dict[str, Any]:
    """The event API Gateway HTTP API (payload 2.0) would hand the function for this request."""
    body = request.get_data()
    textual = not body or TEXTUAL.match(request.content_type or "") is not None
    if textual and body:
        try:
            body.decode()
        except UnicodeDecodeError:
            textual = False  # as API Gateway does with bytes that are not text: base64 (the handler says 400)
    now = time.time()
    query = {k: ",".join(request.args.getlist(k)) for k in request.args}
    context: dict[str, Any] = {
        "accountId": "123456789012",
        "apiId": "local",
        "domainName": request.host,
        "domainPrefix": request.host.split(".")[0],
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": "HTTP/1.1",
            "sourceIp": request.remote_addr or "127.0.0.1",
            "userAgent": request.user_agent.string,
        },
        "requestId": str(uuid.uuid4()),
        "routeKey": route.route_key,
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if claims is not None:
        context["authorizer"] = {"jwt": {"claims": {k: _claim(v) for k, v in claims.items()}, "scopes": None}}
    return {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": request.path,
        "rawQueryString": request.query_string.decode(),
        "cookies": [f"{k}={v}" for k, v in request.cookies.items()],
        "headers": {k.lower(): v for k, v in request.headers.items()},
        "queryStringParameters": query or None,
        "pathParameters": params or None,
        "requestContext": context,
        "body": (body.decode() if textual else base64.b64encode(body).decode()) if body else None,
        "isBase64Encoded": bool(body) and not textual,
    }


def lambda_response(result: dict[str, Any]) -> Response:
    body = result.get("body") or ""
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    response = Response(data, status=int(result.get("statusCode", 200)))
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = value
    for name, values in (result.get("multiValueHeaders") or {}).items():
        for value in values:
            response.headers.add(name, value)
    for cookie in result.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    return response


class Gateway:
    """A WSGI app: the API routes, /cdn/ over the media bucket, /app/ for the web client, /_local/ controls."""

    def __init__(
        self,
        invoke: Invoke,
        verifier: Callable[[], TokenVerifier],
        media: Callable[[], MediaStore],
        controls: dict[str, Callable[[Request, str], Response]],
        after_api: Callable[[], None] = lambda: None,
    ) -> None:
        self._invoke = invoke
        self._after_api = after_api
        self._verifier = verifier
        self._media = media
        self._controls = controls
        self._routes = compile_routes()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        return self.dispatch(request)(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/_local/"):
            name, _, rest = path.removeprefix("/_local/").partition("/")
            control = self._controls.get(name)
            if control is None or request.method != "POST":
                return _error(404, "route_not_found", "there is no such control route")
            return control(request, rest)
        if path.startswith("/cdn/"):
            return self._cdn(request, path.removeprefix("/cdn/"))
        if path == WEB_APP_PATH.rstrip("/") or path.startswith(WEB_APP_PATH):
            return self._web(request)
        return self._api(request)

    def _api(self, request: Request) -> Response:
        for compiled in self._routes:
            match = compiled.pattern.match(request.path)
            if not match:
                continue
            if compiled.route.method != request.method:
                continue
            claims = None
            if compiled.route.auth:
                try:
                    claims = self._authorize(request)
                except UnauthorizedError as error:
                    return _error(401, "unauthorized", error.message)
            event = http_api_event(request, compiled.route, match.groupdict(), claims)
            try:
                response = lambda_response(self._invoke(compiled.route.function, event))
            finally:
                self._after_api()
            # As an HTTP API answers: the request id, which is its correlation id in every log (aperture.observability)
            response.headers["apigw-requestid"] = event["requestContext"]["requestId"]
            return response
        # A known path with another method is no route either: API Gateway's $default route answers it so on AWS.
        return _error(404, "route_not_found", "there is no such route")

    def _authorize(self, request: Request) -> dict[str, Any]:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise UnauthorizedError("send Authorization: Bearer <id_token>")
        return self._verifier().verify(token.strip())

    def _cdn(self, request: Request, key: str) -> Response:
        """The edge's answer: the best stored format the client accepts, cacheable by URL and Accept."""
        if request.method not in {"GET", "HEAD"}:
            return _error(405, "method_not_allowed", "use GET")
        candidates = candidate_keys(key, request.headers.get("Accept"))
        for candidate in candidates:
            found = self._media().fetch(candidate)
            if found is not None:
                stand_in = candidate != candidates[0]
                return Response(
                    found[0],
                    content_type=content_type(candidate),
                    headers={"Cache-Control": FALLBACK_CACHE_CONTROL if stand_in else IMMUTABLE, "Vary": "Accept"},
                )
        return _error(404, "not_found", "no such image")

    def _web(self, request: Request) -> Response:
        """The web app: its files, its config.json, and index.html for every screen (the app routes by URL)."""
        kind, target = web_target(request.path)
        if kind == "redirect":
            return Response(status=302, headers={"Location": target})
        if target == "config.json":
            settings = get_settings()
            config = web_app_config(_origin(request), settings.user_pool_client_id, settings.region, settings.cdn_base)
            return _json(200, config, {"Cache-Control": "no-store"})
        path = (WEB_ROOT / target).resolve()
        if not (WEB_ROOT / "index.html").is_file():
            return _error(503, "web_app_not_built", "the web app is not built: run `make web` (make dev does)")
        if not path.is_file() or WEB_ROOT.resolve() not in path.parents:
            return _error(404, "not_found", "no such file")
        headers = {"Cache-Control": IMMUTABLE if target.startswith(HASHED_ASSETS) else "no-cache"}
        if target == "index.html":
            headers.update(self._page_headers(request))
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind.endswith(("javascript", "json", "svg+xml")):
            kind += "; charset=utf-8"
        return Response(path.read_bytes(), content_type=kind, headers=headers)

    def _page_headers(self, request: Request) -> dict[str, str]:
        """The headers CloudFront's response headers policy adds on AWS, with this machine's origins."""
        settings = get_settings()
        uploads = [self._media().upload_url()]
        return {
            "Content-Security-Policy": web_app_csp(f"{_origin(request)}/", settings.cdn_base, uploads),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "strict-origin-when-cross-origin",
            "X-Frame-Options": "DENY",
        }


def _origin(request: Request) -> str:
    return request.host_url.rstrip("/")


def web_target(path: str) -> tuple[str, str]:
    """("redirect", location) or ("file", name under web/dist) for a path of the web app; see edge/web_routes.js."""
    if path in {"/", WEB_APP_PATH.rstrip("/")}:
        return "redirect", WEB_APP_PATH
    rest = path.removeprefix(WEB_APP_PATH)
    if rest.startswith(HASHED_ASSETS) or ("/" not in rest and "." in rest):
        return "file", rest
    return "file", "index.html"
