"""The webhook transport: one JSON POST, with errors that never show the (secret) URL."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from cocflow import __version__
from cocflow.errors import EnvironmentProblem, InvalidInput

WEBHOOK_TIMEOUT = 10.0


def webhook_host(url: str) -> str:
    """Scheme and host of a webhook URL: its path and query are often the secret."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("the webhook URL must start with https:// (or http://) and name a "
                           "host")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def post_webhook(url: str, payload: dict[str, Any], timeout: float = WEBHOOK_TIMEOUT) -> int:
    """POST the payload as JSON; any failure is an EnvironmentProblem that hides the URL."""
    host = webhook_host(url)
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode("utf-8"), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": f"cocflow/{__version__}"},
    )
    try:
        # The scheme was checked above: urlopen would also open file:// URLs.
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise EnvironmentProblem(f"the webhook at {host} answered HTTP {exc.code}; nothing "
                                 "was delivered") from None
    except (OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            raise EnvironmentProblem(f"the webhook at {host} did not answer within "
                                     f"{timeout:g}s; nothing was delivered") from None
        # Only the kind of failure: a URLError's text can carry the full (secret) URL.
        what = getattr(reason, "strerror", None) or type(reason).__name__
        raise EnvironmentProblem(f"could not reach the webhook at {host} ({what}); nothing "
                                 "was delivered") from None
    status = int(status)
    if not 200 <= status < 300:
        raise EnvironmentProblem(f"the webhook at {host} answered HTTP {status}; nothing was "
                                 "delivered")
    return status
