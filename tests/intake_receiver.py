"""A real intake receiver (`cocflow intake serve`) in a child process on 127.0.0.1, and a
repository set up for web intake (triage readers alice and bob)."""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import git, invoke_cli

TOKEN = "team-token-0123456789abcdef0123456789"


def with_triage_readers(repo: Path, readers: str = "[alice, bob]") -> Path:
    config = repo / "cocflow.yaml"
    config.write_text(config.read_text() + f"triage_readers: {readers}\n")
    git(repo, "commit", "-qam", "triage readers")
    # A triage reader added in cocflow.yaml widens access: this clone accepts it by hand.
    accepted = invoke_cli(("-C", str(repo), "team", "accept", "--yes"), {}, None)
    assert accepted.exit_code == 0, accepted.stderr
    return repo


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Receiver:
    url: str
    inbox: Path
    log: Path
    process: subprocess.Popen[bytes]

    def env(self) -> dict[str, str]:
        return {"COCFLOW_INBOX_URL": self.url, "COCFLOW_INBOX_TOKEN": TOKEN}

    def stored(self) -> list[Path]:
        return sorted(p for p in self.inbox.rglob("*") if p.is_file())

    def stop(self) -> str:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.log.read_text(errors="replace")


def start_receiver(base: Path, site: Path | None = None, repo: Path | None = None,
                   extra_env: dict[str, str] | None = None, rate: int = 1000) -> Receiver:
    """`cocflow intake serve` on a free port; returns once it answers."""
    port = free_port()
    base.mkdir(parents=True, exist_ok=True)
    inbox, log = base / "inbox", base / "receiver.log"
    where = ["--site", str(site)] if site else ["-C", str(repo)]
    env = {**os.environ, "COCFLOW_INBOX_TOKEN": TOKEN, **(extra_env or {})}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cocflow", "intake", "serve", *where, "--inbox", str(inbox),
             "--port", str(port), "--rate", str(rate)],
            stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            with urllib.request.urlopen(url + "/", timeout=5):
                return Receiver(url, inbox, log, process)
        except (urllib.error.URLError, ConnectionError):
            if process.poll() is not None:
                raise AssertionError("the receiver exited: " + log.read_text()) from None
            time.sleep(0.05)
    process.kill()
    raise AssertionError("the receiver never answered")


def request(url: str, data: bytes | None = None, method: str | None = None,
            token: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request; returns status, headers (lower-case names) and body.

    A receiver answers an oversized body (413) as soon as it has read enough of it and closes
    the connection: the rest of the upload may then fail with a broken pipe, while its answer
    is already waiting to be read, as a browser would read it.
    """
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.request(method or ("POST" if data is not None else "GET"),
                               parts.path + (f"?{parts.query}" if parts.query else ""),
                               body=data, headers=headers)
        response = connection.getresponse()
        return (response.status, {k.lower(): v for k, v in response.getheaders()},
                response.read())
    finally:
        connection.close()
