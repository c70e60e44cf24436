"""The intake receiver (`cocflow intake serve`, extra `cocflow[intake]`): Starlette on uvicorn.

It serves the static form and status page, takes encrypted submissions, hands them to the
team's bearer token, and serves the team's encrypted replies by lookup id. It holds no key,
logs no request (no bodies, no addresses), and keeps per-client counters in memory only,
under a salted hash of the address.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from cocflow.adapters.inbox_folder import InboxFolder
from cocflow.domain.intake import (
    ARMOR_BEGIN,
    LOOKUP,
    MAX_REPLY_BYTES,
    MAX_SUBMISSION_BYTES,
    SECURITY_HEADERS,
    SUBMISSION_ID,
    check_envelope,
)
from cocflow.errors import EnvironmentProblem, InvalidInput, SubmissionReplayed

CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8"}


@dataclass(frozen=True)
class Limits:
    submission_bytes: int = MAX_SUBMISSION_BYTES
    submissions_per_window: int = 5
    lookups_per_window: int = 60
    window_seconds: float = 600.0


class RateLimiter:
    """At most `allowed` requests per client in a sliding window; addresses never kept."""

    def __init__(self, allowed: int, window: float) -> None:
        self.allowed, self.window = allowed, window
        self.salt = secrets.token_bytes(16)
        self.hits: defaultdict[bytes, deque[float]] = defaultdict(deque)

    # Past this many clients, those idle for a whole window are forgotten, so traffic from
    # many addresses cannot grow the receiver without bound.
    PRUNE_ABOVE = 1024

    def allow(self, client: str) -> bool:
        key = hashlib.blake2b(client.encode(), key=self.salt, digest_size=16).digest()
        now = time.monotonic()
        if len(self.hits) > self.PRUNE_ABOVE:
            self.hits = defaultdict(deque, {k: v for k, v in self.hits.items()
                                            if v and v[-1] > now - self.window})
        hits = self.hits[key]
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.allowed:
            return False
        hits.append(now)
        return True


def create_app(site: dict[str, bytes], inbox: InboxFolder, token: str,
               limits: Limits | None = None) -> Any:
    """The receiver as an ASGI app."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    limits = limits or Limits()
    submissions = RateLimiter(limits.submissions_per_window, limits.window_seconds)
    lookups = RateLimiter(limits.lookups_per_window, limits.window_seconds)
    inbox.create()

    def refuse(status: int, reason: str) -> Response:
        return JSONResponse({"error": reason}, status_code=status)

    def client(request: Request) -> str:
        return request.client.host if request.client else "-"

    def team(request: Request) -> bool:
        given = request.headers.get("authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())

    async def body(request: Request, limit: int) -> bytes | None:
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return None
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > limit:
                return None
        return bytes(data)

    async def page(request: Request) -> Response:
        name = request.path_params.get("name") or "index.html"
        if name not in site:
            return refuse(404, "not found")
        suffix = name[name.rfind("."):]
        return Response(site[name], media_type=CONTENT_TYPES.get(suffix, "text/plain"))

    async def submit(request: Request) -> Response:
        if not submissions.allow(client(request)):
            return refuse(429, "too many submissions from this client; try again later")
        data = await body(request, limits.submission_bytes)
        if data is None:
            return refuse(413, f"a submission is at most {limits.submission_bytes} bytes")
        try:
            check_envelope(data, limits.submission_bytes)
        except InvalidInput as exc:
            return refuse(400, str(exc))
        try:
            inbox.add_submission(data)
        except SubmissionReplayed as exc:
            return refuse(409, str(exc))
        return JSONResponse({"received": True}, status_code=201)

    async def replies(request: Request) -> Response:
        lookup = request.path_params["lookup"]
        if not LOOKUP.fullmatch(lookup):
            return refuse(404, "not found")
        if request.method == "POST":
            if not team(request):
                return refuse(401, "a team token is required")
            data = await body(request, MAX_REPLY_BYTES)
            if data is None or not data.startswith(ARMOR_BEGIN):
                return refuse(400, "a reply is one armored age file")
            try:
                check_envelope(data, MAX_REPLY_BYTES)
            except InvalidInput as exc:
                return refuse(400, str(exc))
            inbox.add_reply(lookup, data)
            return JSONResponse({"stored": True}, status_code=201)
        if not lookups.allow(client(request)):
            return refuse(429, "too many requests from this client; try again later")
        return JSONResponse({"replies": inbox.replies(lookup)})

    async def pending(request: Request) -> Response:
        if not team(request):
            return refuse(401, "a team token is required")
        return JSONResponse({"submissions": inbox.submissions()})

    async def one(request: Request) -> Response:
        if not team(request):
            return refuse(401, "a team token is required")
        submission = request.path_params["submission"]
        if not SUBMISSION_ID.fullmatch(submission):
            return refuse(404, "not found")
        if request.method == "DELETE":
            return Response(status_code=204 if inbox.delete(submission) else 404)
        data = inbox.submission(submission)
        if data is None:
            return refuse(404, "not found")
        return Response(data, media_type="application/octet-stream")

    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]
                      ) -> Response:
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    app = Starlette(routes=[
        Route("/submit", submit, methods=["POST"]),
        Route("/replies/{lookup:str}", replies, methods=["GET", "POST"]),
        Route("/inbox", pending), Route("/inbox/{submission:str}", one, methods=["GET", "DELETE"]),
        Route("/", page), Route("/{name:str}", page),
    ])
    from starlette.middleware.base import BaseHTTPMiddleware

    app.add_middleware(BaseHTTPMiddleware, dispatch=headers)
    return app


def serve(app: Any, host: str, port: int) -> None:
    """Run the receiver until interrupted; no access log, warnings only."""
    try:
        import uvicorn
    except ImportError:
        raise EnvironmentProblem("the intake receiver needs the optional extra: "
                                 "pip install 'cocflow[intake]'") from None
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning",
                server_header=False, date_header=False, proxy_headers=True)
