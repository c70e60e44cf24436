"""The web intake in a real headless Chromium against a real receiver on 127.0.0.1:
report, pull, import into triage, reply, read the reply with the receipt code.

Runs when Debian's `chromium` is installed (.ci/run installs it; under CI=true a missing
browser fails instead of skipping)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pyrage
import pytest
import yaml

from tests.cdp import Browser, Page, chromium_binary
from tests.conftest import SENTINEL, assert_no_leak
from tests.intake_receiver import Receiver, start_receiver, with_triage_readers
from tests.keyaccess import raw_sops_decrypt, recipients

if chromium_binary() is None:
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI must run the browser tests: install Debian's chromium")
    pytest.skip("headless browser tests skipped: Debian's `chromium` is not installed "
                "(apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """One Chromium for the whole module; each test opens its own page."""
    started = Browser(tmp_path_factory.mktemp("chromium"))
    yield started
    started.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    opened = browser.new_page()
    yield opened
    opened.close()


@pytest.fixture
def site(repo: Path, run, keys, tmp_path: Path) -> Path:
    """alice, bob and carol read web reports in triage; dave is a member who does not."""
    added = run("-C", str(repo), "team", "add", "dave", "--key", keys["dave"].public)
    assert added.exit_code == 0, added.stderr
    with_triage_readers(repo, "[alice, bob, carol]")
    out = tmp_path / "site"
    result = run("-C", str(repo), "intake", "form", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    return out


@pytest.fixture
def receiver(site: Path, tmp_path: Path) -> Iterator[Receiver]:
    started = start_receiver(tmp_path, site)
    yield started
    started.stop()


def report_in_browser(page: Page, url: str, exclude: tuple[str, ...] = ()) -> str:
    """Fill the form as a person would, send it, and return the receipt code shown."""
    page.navigate(url + "/")
    page.wait_for("document.body.dataset.ready === 'true'")
    page.type_into("#title", f"At the meetup {SENTINEL}")
    page.type_into("#description", f"He followed me after the talk. {SENTINEL}")
    page.type_into("#reported-0-name", "Mallory Example")
    page.type_into("#witness-0-name", f"Witness {SENTINEL}")
    page.type_into("#location", "Room 3")
    page.eval("document.getElementById('space').value = 'event'")
    page.click("input[name=category][value=stalking]")
    page.click("input[name=category][value=intimidation]")
    for handle in exclude:
        page.click(f"input[name=exclude][value={handle}]")
    page.click("#report-form button[type=submit]")
    code = page.wait_for("document.getElementById('receipt').hidden === false && "
                         "document.getElementById('receipt-code').textContent")
    assert page.eval("document.getElementById('error').hidden"), page.eval(
        "document.getElementById('error').textContent")
    return str(code)


def read_replies(page: Page, url: str, code: str) -> list[str]:
    page.navigate(url + "/status.html")
    page.wait_for("document.body.dataset.ready === 'true'")
    page.type_into("#code", code)
    page.click("#status-form button[type=submit]")
    page.wait_for("document.querySelectorAll('#replies li').length > 0 || "
                  "!document.getElementById('none').hidden || "
                  "!document.getElementById('error').hidden")
    return list(page.eval("[...document.querySelectorAll('#replies .reply-text')]"
                          ".map(e => e.textContent)"))


def response_bodies(page: Page) -> list[str]:
    """Every response body the page received (what the receiver sent the browser)."""
    bodies = []
    for event in page.events:
        if event["method"] == "Network.loadingFinished":
            found = page.send("Network.getResponseBody",
                              {"requestId": event["params"]["requestId"]})
            bodies.append(found["body"])
    return bodies


def test_a_report_travels_encrypted_to_a_triage_case_and_the_reply_back(
        page, receiver, repo, run, keys, tmp_path):
    code = report_in_browser(page, receiver.url, exclude=("bob",))
    assert len(code.replace("-", "")) == 32
    # the code is kept nowhere by the page: no storage, no cookie, the form emptied
    assert page.eval("localStorage.length + sessionStorage.length") == 0
    assert page.eval("document.cookie") == ""
    assert page.eval("document.getElementById('description').value") == ""
    answers = response_bodies(page)
    # data: URLs are Chromium's own form-control images: no network, no origin
    sent = [e["params"]["request"] for e in page.events if e["method"] ==
            "Network.requestWillBeSent" and not e["params"]["request"]["url"].startswith(
                "data:")]
    assert all(r["url"].startswith(receiver.url + "/") for r in sent), [r["url"] for r in sent]
    submit = next(r for r in sent if r["url"].endswith("/submit"))
    assert SENTINEL not in json.dumps(submit) and code not in json.dumps(submit)
    (stored,) = [p for p in receiver.stored() if p.parent.name == "submissions"
                 and p.suffix == ".age"]
    ciphertext = stored.read_bytes()
    received_at = json.loads(stored.with_suffix(".json").read_text())["received_at"]

    # bob, excluded by the reporter, cannot open the submission itself
    bob = pyrage.x25519.Identity.from_str(keys["bob"].file.read_text().split()[-1])
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(ciphertext, [bob])

    pulled = run("-C", str(repo), "inbox", "pull", "--json", as_member=keys["alice"],
                 env=receiver.env())
    assert pulled.exit_code == 0, pulled.stderr
    assert json.loads(pulled.stdout)["pulled"] == [stored.stem]
    imported = run("-C", str(repo), "inbox", "import", "--json", as_member=keys["alice"],
                   env=receiver.env())
    assert imported.exit_code == 0, imported.stdout
    (item,) = json.loads(imported.stdout)["imported"]
    case_id = item["case"]
    assert not stored.exists()  # deleted from the receiver once the case was committed

    # exactly the right readers: the triage readers alice and carol; bob excluded by the
    # reporter; dave is no triage reader
    case_file = repo / "cases" / f"{case_id}.yaml"
    assert sorted(recipients(repo, case_id)) == sorted([keys["alice"].public,
                                                        keys["carol"].public])
    assert raw_sops_decrypt(case_file, keys["carol"]).returncode == 0
    assert raw_sops_decrypt(case_file, keys["bob"]).returncode != 0
    assert raw_sops_decrypt(case_file, keys["dave"]).returncode != 0
    shown = json.loads(run("-C", str(repo), "show", case_id, "--json",
                           as_member=keys["alice"]).stdout)
    assert shown["meta"]["triage"] is True
    assert shown["meta"]["received_at"] == received_at
    assert shown["meta"]["recused"] == ["bob"]
    assert [(r["handle"], r["reason"]) for r in shown["recusals"]] == [
        ("bob", "reporter-request")]
    report = shown["report"]
    assert report["channel"] == "form" and report["reporter"]["anonymous"] is True
    assert report["description"] == f"He followed me after the talk. {SENTINEL}"
    assert report["categories"] == ["intimidation", "stalking"]  # the page's order
    assert report["space"] == "event"

    replied = run("-C", str(repo), "reply", case_id, "-m", "Thank you. We are on it.",
                  as_member=keys["alice"], env=receiver.env())
    assert replied.exit_code == 0, replied.stderr
    shown = json.loads(run("-C", str(repo), "show", case_id, "--json",
                           as_member=keys["alice"]).stdout)
    assert shown["timeline"][-1]["event"] == "replied"

    assert read_replies(page, receiver.url, code) == ["Thank you. We are on it."]
    assert read_replies(page, receiver.url, code.lower().replace("-", " ")) == [
        "Thank you. We are on it."]  # typed loosely, the same code
    wrong = "0" * 28 + "ABCD"
    assert read_replies(page, receiver.url, wrong) == []
    assert page.eval("document.getElementById('none').hidden") is False

    answers += response_bodies(page)
    log = receiver.stop()
    for path in receiver.stored():
        assert SENTINEL.encode() not in path.read_bytes()
    startup, *logged = log.splitlines()
    assert startup == f"Serving the intake form on {receiver.url}/ (Ctrl-C stops)."
    assert SENTINEL not in log and not any("127.0.0.1" in line or "submit" in line
                                           for line in logged), logged
    assert not any(SENTINEL in body for body in answers)
    assert_no_leak(repo, SENTINEL, pulled.stdout, imported.stdout, imported.stderr)
    for path in (repo / ".git").rglob("*"):  # the pulled submissions: ciphertext only
        assert not path.is_file() or SENTINEL.encode() not in path.read_bytes(), path


def test_a_report_without_exclusions_reaches_every_triage_reader(
        page, receiver, repo, run, keys):
    report_in_browser(page, receiver.url)
    env = receiver.env()
    assert run("-C", str(repo), "inbox", "pull", as_member=keys["bob"], env=env).exit_code == 0
    imported = run("-C", str(repo), "inbox", "import", "--json", as_member=keys["bob"], env=env)
    (item,) = json.loads(imported.stdout)["imported"]
    assert sorted(recipients(repo, item["case"])) == sorted(
        [keys["alice"].public, keys["bob"].public, keys["carol"].public])
    document = yaml.safe_load((repo / "cases" / f"{item['case']}.yaml").read_text())
    assert document["meta"]["recused"] == []


def test_the_page_loads_only_its_own_origin_under_its_csp_and_sri(page, receiver, site):
    page.navigate(receiver.url + "/")
    page.wait_for("document.body.dataset.ready === 'true'")
    urls = [e["params"]["request"]["url"] for e in page.events
            if e["method"] == "Network.requestWillBeSent"
            and not e["params"]["request"]["url"].startswith("data:")]
    assert {u.rsplit("/", 1)[1] for u in urls} <= {"", "intake.css", "intake.js", "favicon.ico"}
    assert all(u.startswith(receiver.url + "/") for u in urls)
    document = next(e["params"]["response"] for e in page.events
                    if e["method"] == "Network.responseReceived"
                    and e["params"]["type"] == "Document")
    headers = {k.lower(): v for k, v in document["headers"].items()}
    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"

    from cocflow.domain.intake import sri

    assert page.eval("document.querySelector('script[src]').integrity") == sri(
        (site / "intake.js").read_bytes())
    assert page.eval("document.querySelector('link[rel=stylesheet]').integrity") == sri(
        (site / "intake.css").read_bytes())
    assert "script-src 'self'" in page.eval(
        "document.querySelector('meta[http-equiv=Content-Security-Policy]').content")

    # an injected inline script does not run; another origin cannot be reached
    page.eval("(() => { const s = document.createElement('script');"
              " s.textContent = 'window.__ran = true'; document.head.append(s); })()")
    assert page.eval("window.__ran === true") is False
    blocked = page.eval("fetch('http://127.0.0.2:9/x').then(() => 'sent', () => 'blocked')")
    assert blocked == "blocked"
    violations = page.wait_for("window.__violations.length >= 2 && window.__violations")
    assert {v["directive"] for v in violations} >= {"script-src-elem", "connect-src"}


def test_a_bundle_that_does_not_match_its_integrity_never_runs(page, site, tmp_path):
    tampered = tmp_path / "tampered"
    tampered.mkdir()
    for name in ("index.html", "status.html", "intake.css"):
        (tampered / name).write_bytes((site / name).read_bytes())
    (tampered / "intake.js").write_bytes((site / "intake.js").read_bytes() +
                                         b"\nwindow.__evil = true;\n")
    receiver = start_receiver(tmp_path / "second", tampered)
    try:
        page.navigate(receiver.url + "/")
        assert page.eval("window.__evil === true") is False
        assert page.eval("document.body.dataset.ready") is None
        logged = [e["params"]["entry"]["text"] for e in page.events
                  if e["method"] == "Log.entryAdded"]
        assert any("integrity" in text for text in logged), logged
    finally:
        receiver.stop()
