"""`inbox pull`, `inbox import` and `reply` against a real receiver, with submissions built as
the browser builds them (age, to the triage readers): bad ones are set aside whole."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyrage
import pytest

from cocflow.domain.intake import lookup_id
from tests.conftest import SENTINEL, Key, git, snapshot
from tests.intake_receiver import Receiver, request, start_receiver, with_triage_readers
from tests.keyaccess import raw_sops_decrypt, recipients

ENV_NOW = {"COCFLOW_NOW": "2030-01-01T00:00:00Z"}


def report(**changes: object) -> dict[str, object]:
    found: dict[str, object] = {
        "title": f"At the meetup {SENTINEL}", "channel": "form",
        "reporter": {"name": None, "contact": None, "anonymous": True},
        "reported": [{"name": "Mallory Example", "contact": None}], "witnesses": [],
        "occurred_at": None, "space": "event", "location": None,
        "categories": ["stalking"], "description": f"It happened. {SENTINEL}",
        "consent": {"name_reporter": False, "share_with_reported": False,
                    "confidentiality_request": None}}
    found.update(changes)
    return found


def payload(reply_to: str | None = None, exclude: tuple[str, ...] = (), **changes: object
            ) -> bytes:
    reply_to = reply_to or str(pyrage.x25519.Identity.generate().to_public())
    return json.dumps({"cocflow_intake": 1, "report": report(**changes),
                       "exclude": list(exclude), "reply_to": reply_to}).encode() + b" " * 300


def to(*members: Key) -> list[object]:
    return [pyrage.x25519.Recipient.from_str(m.public) for m in members]


@pytest.fixture
def receiver(repo: Path, tmp_path: Path) -> Iterator[Receiver]:
    with_triage_readers(repo)
    started = start_receiver(tmp_path / "receiver", repo=repo)
    yield started
    started.stop()


def submit(receiver: Receiver, data: bytes, recipients: list[object]) -> None:
    sealed = bytes(pyrage.encrypt(data, recipients, armored=True))
    assert request(receiver.url + "/submit", sealed, "POST")[0] == 201


def pull_and_import(run, repo: Path, receiver: Receiver, member: Key):
    env = {**receiver.env(), **ENV_NOW}
    assert run("-C", str(repo), "inbox", "pull", as_member=member, env=env).exit_code == 0
    return run("-C", str(repo), "inbox", "import", "--json", as_member=member, env=env)


def submissions(receiver: Receiver) -> list[Path]:
    return [p for p in receiver.stored() if p.parent.name == "submissions" and p.suffix == ".age"]


@pytest.mark.parametrize(("data", "reason"), [
    (b"not json at all", "not a JSON report"),
    (b'{"cocflow_intake": 2}', "not a cocflow intake report"),
    (payload(title=None), "report"),
    (payload(channel="email"), "not a form report"),
    (payload(exclude=("mallory",)), "not a member"),
    (payload(reply_to="age1notakey"), "reply key"),
    (payload(reported=[{"name": "X", "contact": None, "team_handle": "bob"}]), "team_handle"),
])
def test_a_submission_that_is_no_valid_report_is_set_aside_whole(
        repo, run, keys, receiver, data, reason):
    submit(receiver, data, to(keys["alice"], keys["bob"]))
    before = snapshot(repo)
    result = pull_and_import(run, repo, receiver, keys["alice"])
    assert result.exit_code == 1 and result.stderr.startswith("Error: 1 submission(s) set aside")
    (aside,) = json.loads(result.stdout)["aside"]
    assert reason in aside["reason"]
    assert snapshot(repo) == before  # no case, no commit
    assert len(submissions(receiver)) == 1  # still on the receiver
    again = run("-C", str(repo), "inbox", "import", "--json", as_member=keys["alice"],
                env=receiver.env())
    assert json.loads(again.stdout)["aside"] == []  # reported once, kept aside locally


def test_a_submission_no_local_key_opens_is_set_aside_for_another_triage_reader(
        repo, run, keys, receiver):
    config = repo / "cocflow.yaml"
    config.write_text(config.read_text().replace("[alice, bob]", "[alice, bob, carol]"))
    git(repo, "commit", "-qam", "carol reads triage too")
    submit(receiver, payload(exclude=("alice",)), to(keys["bob"], keys["carol"]))
    result = pull_and_import(run, repo, receiver, keys["alice"])
    assert result.exit_code == 1
    assert "another triage reader" in json.loads(result.stdout)["aside"][0]["reason"]
    # (alice and bob share this clone: bob tries what alice's key could not open)
    result = run("-C", str(repo), "inbox", "import", "--retry-aside", "--json",
                 as_member=keys["bob"], env={**receiver.env(), **ENV_NOW})
    assert result.exit_code == 0, result.stdout + result.stderr
    (item,) = json.loads(result.stdout)["imported"]
    assert sorted(recipients(repo, item["case"])) == sorted([keys["bob"].public,
                                                             keys["carol"].public])


def test_good_and_bad_submissions_in_one_batch_and_replays(repo, run, keys, receiver):
    reply_key = str(pyrage.x25519.Identity.generate().to_public())
    submit(receiver, payload(reply_to=reply_key), to(keys["alice"], keys["bob"]))
    submit(receiver, b"garbage", to(keys["alice"], keys["bob"]))
    result = pull_and_import(run, repo, receiver, keys["alice"])
    outcome = json.loads(result.stdout)
    assert result.exit_code == 1
    assert len(outcome["imported"]) == 1 and len(outcome["aside"]) == 1
    case_id = outcome["imported"][0]["case"]
    # the same report sent again (same receipt key, new ciphertext) is a replay
    submit(receiver, payload(reply_to=reply_key), to(keys["alice"], keys["bob"]))
    before = snapshot(repo)
    result = pull_and_import(run, repo, receiver, keys["alice"])
    assert json.loads(result.stdout)["replays"][0]["case"] == case_id
    assert snapshot(repo) == before
    assert len(submissions(receiver)) == 1  # only the garbage one is left, set aside


def test_an_imported_case_is_a_triage_case_on_the_2_week_clock_from_receipt(
        repo, run, keys, receiver):
    submit(receiver, payload(), to(keys["alice"], keys["bob"]))
    (stamp,) = [p for p in receiver.stored() if p.suffix == ".json"
                and p.parent.name == "submissions"]
    received_at = json.loads(stamp.read_text())["received_at"]
    (item,) = json.loads(pull_and_import(run, repo, receiver, keys["bob"]).stdout)["imported"]
    listed = json.loads(run("-C", str(repo), "list", "--json").stdout)
    (meta,) = [m for m in listed if m["id"] == item["case"]]
    assert meta["triage"] is True and meta["received_at"] == received_at
    from datetime import datetime, timedelta

    def parse(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    assert parse(meta["respond_by"]) - parse(meta["received_at"]) == timedelta(days=14)
    case = repo / "cases" / f"{item['case']}.yaml"
    assert raw_sops_decrypt(case, keys["carol"]).returncode != 0


def test_reply_encrypts_to_the_reporter_key_only(repo, run, keys, receiver):
    reporter = pyrage.x25519.Identity.generate()
    submit(receiver, payload(reply_to=str(reporter.to_public())), to(keys["alice"]))
    (item,) = json.loads(pull_and_import(run, repo, receiver, keys["alice"]).stdout)["imported"]
    result = run("-C", str(repo), "reply", item["case"], as_member=keys["alice"],
                 env=receiver.env(), input=f"We will call you back {SENTINEL}\n")
    assert result.exit_code == 0, result.stderr
    lookup = lookup_id(str(reporter.to_public()))
    (sealed,) = json.loads(request(f"{receiver.url}/replies/{lookup}")[2])["replies"]
    opened = json.loads(pyrage.decrypt(sealed.encode(), [reporter]))
    assert opened["text"] == f"We will call you back {SENTINEL}\n"
    alice = pyrage.x25519.Identity.from_str(keys["alice"].file.read_text().split()[-1])
    with pytest.raises(pyrage.DecryptError):
        pyrage.decrypt(sealed.encode(), [alice])


def test_reply_on_a_case_from_no_form_is_refused(repo, run, keys, open_case, receiver):
    case_id = open_case()
    before = snapshot(repo)
    result = run("-C", str(repo), "reply", case_id, "-m", "hello", as_member=keys["alice"],
                 env=receiver.env())
    assert result.exit_code == 2 and "no web form" in result.stderr
    assert snapshot(repo) == before


def test_only_a_triage_reader_imports(repo, run, keys, receiver):
    result = pull_and_import(run, repo, receiver, keys["carol"])
    assert result.exit_code == 3 and "triage reader" in result.stderr


def test_an_unreachable_receiver_or_a_wrong_token_is_one_error_line(repo, run, keys, receiver):
    env = {**receiver.env(), "COCFLOW_INBOX_TOKEN": "wrong-token-0123456789abcdef"}
    result = run("-C", str(repo), "inbox", "pull", as_member=keys["alice"], env=env)
    assert result.exit_code == 4 and "HTTP 401" in result.stderr
    assert "wrong-token" not in result.stderr
    env = {**receiver.env(), "COCFLOW_INBOX_URL": "http://127.0.0.1:9"}
    result = run("-C", str(repo), "inbox", "pull", as_member=keys["alice"], env=env)
    assert result.exit_code == 4 and result.stderr.count("\n") == 1
    env = {**receiver.env(), "COCFLOW_INBOX_URL": "http://example.org/inbox"}
    result = run("-C", str(repo), "inbox", "pull", as_member=keys["alice"], env=env)
    assert result.exit_code == 2 and "https://" in result.stderr
