"""A small Chrome DevTools Protocol client: Debian's headless Chromium, driven over its
remote-debugging websocket (websocket-client), for the intake form's browser tests."""

from __future__ import annotations

import contextlib
import itertools
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import websocket


def chromium_binary() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One headless Chromium process; pages are targets attached over one websocket."""

    def __init__(self, profile: Path) -> None:
        binary = chromium_binary()
        assert binary, "chromium is not installed"
        self.process = subprocess.Popen(
            [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", "--disable-background-networking", "--disable-sync",
             "--disable-component-update", "--disable-default-apps", "--mute-audio",
             "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = profile / "DevToolsActivePort"
        for _ in range(600):
            if port_file.is_file() and len(port_file.read_text().splitlines()) >= 2:
                break
            if self.process.poll() is not None:
                raise RuntimeError("chromium exited before it listened")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        self.socket = websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=60,
                                                  suppress_origin=True)
        self.ids = itertools.count(1)
        self.events: dict[str | None, list[dict[str, Any]]] = {}

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None) -> dict[str, Any]:
        number = next(self.ids)
        message: dict[str, Any] = {"id": number, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.socket.send(json.dumps(message))
        while True:
            reply = json.loads(self.socket.recv())
            if reply.get("id") == number:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result") or {})
            if "method" in reply:
                self.events.setdefault(reply.get("sessionId"), []).append(reply)

    def pump(self, seconds: float) -> None:
        """Receive events for a while (the page works in the background)."""
        self.socket.settimeout(seconds)
        try:
            reply = json.loads(self.socket.recv())
            if "method" in reply:
                self.events.setdefault(reply.get("sessionId"), []).append(reply)
        except websocket.WebSocketTimeoutException:
            pass
        finally:
            self.socket.settimeout(60)

    def new_page(self) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target,
                                                      "flatten": True})["sessionId"]
        page = Page(self, session, target)
        for domain in ("Page", "Runtime", "Network", "Log", "Security"):
            page.send(f"{domain}.enable")
        page.send("Page.addScriptToEvaluateOnNewDocument", {"source": (
            "window.__violations = [];"
            "document.addEventListener('securitypolicyviolation', e => window.__violations"
            ".push({directive: e.violatedDirective, blocked: e.blockedURI}));")})
        return page

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.send("Browser.close")
        self.socket.close()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Page:
    def __init__(self, browser: Browser, session: str, target: str) -> None:
        self.browser, self.session, self.target = browser, session, target

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, self.session)

    @property
    def events(self) -> list[dict[str, Any]]:
        return self.browser.events.setdefault(self.session, [])

    def navigate(self, url: str) -> None:
        self.events.clear()
        self.send("Page.navigate", {"url": url})
        self.wait_for("document.readyState === 'complete'")

    def eval(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", {"expression": expression,
                                                "awaitPromise": True, "returnByValue": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, seconds: float = 60) -> Any:
        """Poll until `expression` is truthy (a bound on a hang, not a timing assertion)."""
        deadline = time.monotonic() + seconds
        while True:
            value = self.eval(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"the page never reached: {expression}")
            self.browser.pump(0.1)

    def type_into(self, selector: str, text: str) -> None:
        """Focus a field and type into it as a keyboard would (Input.insertText)."""
        assert self.eval(f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
                         " e.focus(); return document.activeElement === e; })()")
        self.send("Input.insertText", {"text": text})

    def click(self, selector: str) -> None:
        self.eval(f"document.querySelector({json.dumps(selector)}).click()")

    def close(self) -> None:
        self.browser.send("Target.closeTarget", {"targetId": self.target})
