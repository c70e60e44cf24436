"""The intake receiver over real HTTP: what it accepts, refuses, stores and serves."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pyrage
import pytest

from cocflow.domain.intake import HEADER_CSP, MAX_SUBMISSION_BYTES
from tests.intake_receiver import TOKEN, Receiver, request, start_receiver


def sealed(data: bytes = b'{"cocflow_intake": 1}', armored: bool = True) -> bytes:
    key = pyrage.x25519.Identity.generate().to_public()
    return bytes(pyrage.encrypt(data, [key], armored=armored))


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    site = tmp_path_factory.mktemp("site")
    for name in ("index.html", "status.html", "intake.js", "intake.css"):
        (site / name).write_text(f"<!-- {name} -->")
    started = start_receiver(tmp_path_factory.mktemp("receiver"), site)
    yield started
    started.stop()


def test_pages_come_with_secure_headers(receiver):
    status, headers, body = request(receiver.url + "/")
    assert status == 200 and body == b"<!-- index.html -->"
    assert headers["content-security-policy"] == HEADER_CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
    assert "server" not in headers
    assert request(receiver.url + "/status.html")[0] == 200
    assert request(receiver.url + "/intake.js")[1]["content-type"].startswith("text/javascript")
    assert request(receiver.url + "/secrets.txt")[0] == 404


@pytest.mark.parametrize(("body", "status"), [
    (b"", 400),
    (b"name=Mallory&text=plain words", 400),
    (b"-----BEGIN AGE ENCRYPTED FILE-----\nnot base64!\n-----END AGE ENCRYPTED FILE-----\n",
     400),
    (b"age-encryption.org/v1\n--- short\n", 400),
    (b"age-encryption.org/v1\n-> X25519 abc\n" + b"A" * 80 + b"\n", 400),
    (b"x" * (MAX_SUBMISSION_BYTES + 1), 413),
])
def test_anything_but_an_age_file_is_refused_and_nothing_is_stored(receiver, body, status):
    before = receiver.stored()
    answer = request(receiver.url + "/submit", body, "POST")
    assert answer[0] == status
    assert "error" in json.loads(answer[2])
    assert receiver.stored() == before


@pytest.mark.parametrize("armored", [True, False])
def test_an_age_file_is_stored_once_and_a_replay_is_refused(receiver, armored):
    data = sealed(armored=armored)
    assert request(receiver.url + "/submit", data, "POST")[0] == 201
    assert request(receiver.url + "/submit", data, "POST")[0] == 409
    stored = [p for p in receiver.stored() if p.suffix == ".age" and p.read_bytes() == data]
    assert len(stored) == 1 and stored[0].stat().st_mode & 0o077 == 0


def test_the_team_pulls_and_deletes_with_its_token_only(receiver):
    data = sealed()
    request(receiver.url + "/submit", data, "POST")
    for token in (None, "wrong-token-0123456789abcdef"):
        assert request(receiver.url + "/inbox", token=token)[0] == 401
    listing = json.loads(request(receiver.url + "/inbox", token=TOKEN)[2])["submissions"]
    (item,) = [i for i in listing if request(
        f"{receiver.url}/inbox/{i['id']}", token=TOKEN)[2] == data]
    assert request(f"{receiver.url}/inbox/{item['id']}")[0] == 401
    assert request(f"{receiver.url}/inbox/{item['id']}", method="DELETE")[0] == 401
    assert request(f"{receiver.url}/inbox/{item['id']}", method="DELETE", token=TOKEN)[0] == 204
    assert request(f"{receiver.url}/inbox/{item['id']}", token=TOKEN)[0] == 404
    assert request(f"{receiver.url}/inbox/../../etc/passwd", token=TOKEN)[0] == 404


def test_replies_are_stored_by_the_team_and_read_by_lookup_id(receiver):
    lookup = "0123456789abcdef0123456789abcdef"
    reply = sealed(b'{"at": "2026-11-20T12:00:00Z", "text": "hello"}')
    assert json.loads(request(f"{receiver.url}/replies/{lookup}")[2]) == {"replies": []}
    assert request(f"{receiver.url}/replies/{lookup}", reply, "POST")[0] == 401
    assert request(f"{receiver.url}/replies/{lookup}", b"plain", "POST", token=TOKEN)[0] == 400
    assert request(f"{receiver.url}/replies/{lookup}", reply, "POST", token=TOKEN)[0] == 201
    assert json.loads(request(f"{receiver.url}/replies/{lookup}")[2]) == {
        "replies": [reply.decode()]}
    assert request(f"{receiver.url}/replies/not-a-lookup")[0] == 404


def test_a_client_that_submits_too_often_is_slowed_down(tmp_path: Path):
    site = tmp_path / "site"
    site.mkdir()
    for name in ("index.html", "status.html", "intake.js", "intake.css"):
        (site / name).write_text(name)
    limited = start_receiver(tmp_path / "limited", site, rate=2)
    try:
        answers = [request(limited.url + "/submit", sealed(), "POST")[0] for _ in range(3)]
    finally:
        limited.stop()
    assert answers == [201, 201, 429]


def test_the_receiver_refuses_to_start_without_a_strong_token(tmp_path: Path, run):
    result = run("intake", "serve", "--site", str(tmp_path), "--inbox", str(tmp_path / "in"),
                 env={"COCFLOW_INBOX_TOKEN": "short"})
    assert result.exit_code == 2 and result.stderr.startswith("Error: ")
    assert "COCFLOW_INBOX_TOKEN" in result.stderr


def test_the_rate_limiter_forgets_clients_idle_for_a_whole_window():
    from cocflow.adapters.intake_server import RateLimiter

    limiter = RateLimiter(allowed=1, window=0.05)
    for n in range(RateLimiter.PRUNE_ABOVE + 1):
        assert limiter.allow(f"2001:db8::{n:x}")
    time.sleep(0.1)  # every client above has been idle for a whole window
    assert limiter.allow("2001:db8::ffff")
    assert len(limiter.hits) == 1
    assert not limiter.allow("2001:db8::ffff")  # the limit still holds for a client in it
