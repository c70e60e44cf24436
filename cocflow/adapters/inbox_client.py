"""The team's side of the receiver's API, over urllib: list, fetch and delete submissions,
upload a reply. Every failure is a ReceiverUnreachable that names the host, never the token."""

from __future__ import annotations

import http.client
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from cocflow import __version__
from cocflow.domain.intake import LOOKUP, MAX_SUBMISSION_BYTES, SUBMISSION_ID
from cocflow.errors import InvalidInput, ReceiverUnreachable

TIMEOUT = 20.0
URL_VARIABLE = "COCFLOW_INBOX_URL"
TOKEN_VARIABLE = "COCFLOW_INBOX_TOKEN"


@dataclass(frozen=True)
class Receiver:
    url: str
    token: str

    @classmethod
    def configured(cls, url: str | None) -> Receiver:
        """COCFLOW_INBOX_URL (else `url`, cocflow.yaml's inbox_url) and COCFLOW_INBOX_TOKEN."""
        url = os.environ.get(URL_VARIABLE) or url
        token = os.environ.get(TOKEN_VARIABLE, "").strip()
        if not url:
            raise InvalidInput(f"no receiver: set inbox_url in cocflow.yaml or {URL_VARIABLE}")
        if not token:
            raise InvalidInput(f"no receiver token: set {TOKEN_VARIABLE} (the token the "
                               "receiver was started with)")
        parts = urllib.parse.urlsplit(url)
        local = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme != "https" and not (parts.scheme == "http" and local):
            raise InvalidInput("the receiver URL must start with https:// (http:// only for "
                               "localhost)")
        return cls(url.rstrip("/"), token)

    @property
    def host(self) -> str:
        parts = urllib.parse.urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    def pending(self) -> list[dict[str, Any]]:
        found = json.loads(self._call("GET", "/inbox"))
        items = found.get("submissions") if isinstance(found, dict) else None
        if not isinstance(items, list) or not all(
                isinstance(i, dict) and isinstance(i.get("id"), str)
                and SUBMISSION_ID.fullmatch(i["id"]) and isinstance(i.get("received_at"), str)
                for i in items):
            raise ReceiverUnreachable(f"the receiver at {self.host} sent a listing this "
                                      "cocflow cannot read")
        return items

    def fetch(self, submission: str) -> bytes:
        return self._call("GET", f"/inbox/{_checked(SUBMISSION_ID, submission)}",
                          limit=MAX_SUBMISSION_BYTES)

    def delete(self, submission: str) -> None:
        self._call("DELETE", f"/inbox/{_checked(SUBMISSION_ID, submission)}", missing_ok=True)

    def post_reply(self, lookup: str, sealed: bytes) -> None:
        self._call("POST", f"/replies/{_checked(LOOKUP, lookup)}", sealed)

    def _call(self, method: str, path: str, data: bytes | None = None,
              limit: int = 4 * 1024 * 1024, missing_ok: bool = False) -> bytes:
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "User-Agent": f"cocflow/{__version__}",
            "Content-Type": "application/octet-stream"})
        try:
            # The scheme was checked: urlopen would also open file:// URLs.
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                body: bytes = response.read(limit + 1)
        except urllib.error.HTTPError as exc:
            if missing_ok and exc.code == 404:
                return b""
            hint = " (check COCFLOW_INBOX_TOKEN)" if exc.code == 401 else ""
            raise ReceiverUnreachable(f"the receiver at {self.host} answered HTTP {exc.code} "
                                      f"to {method} {path.split('/')[1]}{hint}") from None
        except (OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            what = getattr(reason, "strerror", None) or type(reason).__name__
            raise ReceiverUnreachable(f"could not reach the receiver at {self.host} "
                                      f"({what})") from None
        if len(body) > limit:
            raise ReceiverUnreachable(f"the receiver at {self.host} sent more than {limit} "
                                      "bytes")
        return body


def _checked(pattern: Any, value: str) -> str:
    if not pattern.fullmatch(value):
        raise InvalidInput(f"not an id the receiver uses: {value!r}")
    return value
