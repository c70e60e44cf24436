"""Email intake: a real .eml becomes a case, its attachments encrypted evidence, in one commit."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path

import pytest
import yaml

from cocflow.adapters.email import html_to_text, parse_email
from cocflow.adapters.sops import recipients_of
from cocflow.errors import InvalidInput
from tests.conftest import SENTINEL, assert_no_leak, git, report_yaml, snapshot
from tests.keyaccess import raw_sops_decrypt

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
ENV = {"COCFLOW_NOW": "2026-11-20T12:00:00Z"}
PIXELS = b"\x89PNG\r\n\x1a\n" + b"PIXEL-SENTINEL-4412" + bytes(range(256)) * 4
FILE_NAME = "screenshot-NAME-SENTINEL-9921.png"
DISPLAY_NAME = "Zoë Ünal-Ærøskøbing"


def make_email(*, html: str | None = None, text: str | None = f"It kept happening. {SENTINEL}",
               attachments: tuple[tuple[bytes, str, str, str], ...] = (
                   (PIXELS, "image", "png", FILE_NAME),),
               date: str | None = "Tue, 17 Nov 2026 09:30:00 +0100") -> bytes:
    """A multipart message built with the standard library, as a mail client would send it."""
    message = EmailMessage()
    message["From"] = Address(DISPLAY_NAME, "zoe", "example.org")
    message["To"] = "coc@example.org"
    message["Subject"] = f"Harassment after the meetup {SENTINEL}"
    if date:
        message["Date"] = date
    if text is not None:
        message.set_content(text)
    if html is not None:
        if text is None:
            message.set_content(html, subtype="html")
        else:
            message.add_alternative(html, subtype="html")
    for data, maintype, subtype, name in attachments:
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def parse(data: bytes, received_at: datetime | None = None):
    return parse_email(data, now=NOW, received_at=received_at)


def files(parsed):
    """The attachments of a parsed message after the original (always the first)."""
    assert parsed.attachments[0].name == "original.eml"
    return parsed.attachments[1:]


# --- parsing (pure) ---------------------------------------------------------------------------

def test_sender_date_subject_and_text_become_the_report():
    parsed = parse(make_email())
    report = parsed.intake["report"]
    assert report["reporter"] == {"name": DISPLAY_NAME, "contact": "zoe@example.org",
                                  "anonymous": False}
    assert report["sent_at"] == "2026-11-17T08:30:00Z"
    assert parsed.intake["received_at"] == "2026-11-20T12:00:00Z"  # no Received: intake time
    assert parsed.notices == ()
    assert report["title"] == f"Harassment after the meetup {SENTINEL}"
    assert report["description"] == f"It kept happening. {SENTINEL}"
    assert report["channel"] == "email"


@pytest.mark.parametrize("wrap", [
    lambda raw: raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"),  # saved on Windows
    lambda raw: b"From zoe@example.org Tue Nov 17 08:30:00 2026\n" + raw,  # piped from mbox
])
def test_messages_as_mail_clients_save_or_pipe_them_parse_the_same(wrap):
    raw = make_email()
    parsed = parse(wrap(raw))
    assert parsed.intake == parse(raw).intake
    assert [a.data for a in files(parsed)] == [PIXELS]
    assert parsed.attachments[0].data == wrap(raw)  # kept as given, byte for byte


def test_each_attachment_keeps_its_bytes_name_and_type():
    (attachment,) = files(parse(make_email()))
    assert attachment.data == PIXELS
    assert attachment.name == FILE_NAME
    assert attachment.media_type == "image/png"


def test_the_html_twin_of_a_plain_text_mail_is_not_evidence():
    parsed = parse(make_email(html="<p>It kept happening.</p>", attachments=()))
    assert files(parsed) == ()
    assert parsed.intake["report"]["description"].startswith("It kept happening.")


def test_html_only_mail_becomes_readable_text():
    page = ("<html><head><style>p{color:red}</style><script>alert(1)</script></head><body>"
            "<p>First&nbsp;line &amp; more</p><ul><li>one</li><li>two</li></ul>"
            '<p>See <a href="https://chat.example/msg/1">this message</a></p></body></html>')
    report = parse(make_email(text=None, html=page, attachments=())).intake["report"]
    assert report["description"] == ("First line & more\n\n- one\n- two\n\n"
                                      "See this message <https://chat.example/msg/1>")


def test_html_to_text_drops_markup_scripts_and_styles():
    text = html_to_text("<div>a<br>b</div><style>x{}</style><script>evil()</script><h1>c</h1>")
    assert text == "a\nb\n\nc"


def test_inline_image_of_an_html_mail_becomes_evidence():
    message = EmailMessage()
    message["From"] = "sam@example.org"
    message["Date"] = "Tue, 17 Nov 2026 09:30:00 +0000"
    message.set_content("See the picture.")
    message.add_alternative('<p>See <img src="cid:shot"></p>', subtype="html")
    message.get_payload()[1].add_related(PIXELS, "image", "png", cid="<shot>")
    (attachment,) = files(parse(message.as_bytes()))
    assert attachment.data == PIXELS and attachment.name.endswith(".png")


def test_a_forwarded_message_is_kept_whole_as_one_piece_of_evidence():
    inner = EmailMessage()
    inner["From"] = "other@example.org"
    inner["Subject"] = "the original"
    inner.set_content("original words")
    outer = EmailMessage()
    outer["From"] = "sam@example.org"
    outer["Date"] = "Tue, 17 Nov 2026 09:30:00 +0000"
    outer.set_content("Forwarding what I received.")
    outer.add_attachment(inner)
    (attachment,) = files(parse(outer.as_bytes()))
    assert attachment.media_type == "message/rfc822"
    assert b"original words" in attachment.data and attachment.name.endswith(".eml")


def test_a_message_without_subject_or_text_still_has_a_title_and_description():
    message = EmailMessage()
    message["From"] = "sam@example.org"
    message["Date"] = "Tue, 17 Nov 2026 09:30:00 +0000"
    message.set_content(PIXELS, maintype="image", subtype="png", filename="a.png")
    parsed = parse(message.as_bytes())
    assert parsed.intake["report"]["title"] and parsed.intake["report"]["description"]
    assert [a.data for a in files(parsed)] == [PIXELS]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"just some words\nno headers at all\n", "not an email"),
        (report_yaml().encode(), "not an email"),
        (PIXELS, "not an email"),
    ],
)
def test_malformed_or_non_email_input_is_refused(data, message):
    with pytest.raises(InvalidInput, match=message):
        parse(data)


def test_a_sender_clock_slightly_ahead_counts_as_received_now():
    parsed = parse(make_email(date="Fri, 20 Nov 2026 12:30:00 +0000"))
    assert parsed.intake["report"]["sent_at"] == "2026-11-20T12:00:00Z"


# --- intake through the CLI -------------------------------------------------------------------

@pytest.fixture
def repo(repo: Path) -> Path:
    """Email intake needs triage readers: bob reads every email case with whoever opens it."""
    (repo / "cocflow.yaml").write_text((repo / "cocflow.yaml").read_text()
                                       + "triage_readers: [bob]\n")
    git(repo, "commit", "-qam", "triage readers")
    return repo


def new_from_email(run, repo: Path, keys, data: bytes, *extra: str, source: str = "-"):
    return run("-C", str(repo), "new", "--from-email", source, "--json", *extra,
               input=data if source == "-" else None, as_member=keys["alice"], env=ENV)


def test_email_intake_opens_a_case_with_its_evidence_in_one_commit(repo, run, keys, tmp_path):
    eml = tmp_path / "report.eml"
    eml.write_bytes(make_email())
    commits_before = git(repo, "rev-list", "--count", "HEAD")
    result = new_from_email(run, repo, keys, b"", source=str(eml))
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"id": "2026-0001", "evidence": 2, "warnings": []}
    assert int(git(repo, "rev-list", "--count", "HEAD")) == int(commits_before) + 1
    changed = git(repo, "show", "--name-only", "--format=%s", "HEAD").split()
    assert changed == ["open", "2026-0001", "(received)", "cases/2026-0001.yaml",
                       "cases/2026-0001/evidence-001.sops.json",
                       "cases/2026-0001/evidence-002.sops.json"]


def test_email_intake_from_stdin_fills_the_report(repo, run, keys):
    assert new_from_email(run, repo, keys, make_email()).exit_code == 0
    case = json.loads(run("-C", str(repo), "show", "2026-0001", "--json",
                          as_member=keys["bob"]).stdout)
    assert case["meta"]["received_at"] == "2026-11-20T12:00:00Z"
    assert case["report"]["sent_at"] == "2026-11-17T08:30:00Z"
    assert case["report"]["reporter"]["name"] == DISPLAY_NAME
    assert case["report"]["channel"] == "email"
    original, item = case["evidence"]
    assert original["original_name"] == "original.eml"
    assert original["media_type"] == "message/rfc822"
    assert item["original_name"] == FILE_NAME and item["media_type"] == "image/png"
    assert item["size"] == len(PIXELS)
    assert item["sha256"] == hashlib.sha256(PIXELS).hexdigest()
    assert next(e["event"] for e in case["timeline"]) == "received"


def test_attachment_bytes_and_name_reach_no_file_object_message_or_output(repo, run, keys):
    result = new_from_email(run, repo, keys, make_email())
    listing = run("-C", str(repo), "list")
    outputs = (result.stdout, result.stderr, listing.stdout)
    for secret in (SENTINEL, "PIXEL-SENTINEL-4412", "NAME-SENTINEL-9921", "Ærøskøbing"):
        assert_no_leak(repo, secret, *outputs)
    assert not any(p.name == FILE_NAME for p in repo.rglob("*"))


def test_evidence_is_encrypted_to_exactly_the_case_recipients(repo, run, keys):
    assert new_from_email(run, repo, keys, make_email(), "--recuse", "carol").exit_code == 0
    text = (repo / "cases" / "2026-0001" / "evidence-001.sops.json").read_text()
    case = (repo / "cases" / "2026-0001.yaml").read_text()
    assert sorted(recipients_of(text)) == sorted(recipients_of(case))
    assert sorted(recipients_of(text)) == sorted([keys["alice"].public, keys["bob"].public])
    assert keys["carol"].public not in text


def test_an_email_case_needs_triage_before_investigating(repo, run, keys):
    new_from_email(run, repo, keys, make_email())
    assert run("-C", str(repo), "move", "2026-0001", "acknowledged", as_member=keys["alice"],
               env=ENV).exit_code == 0
    result = run("-C", str(repo), "move", "2026-0001", "investigating", as_member=keys["alice"],
                 env=ENV)
    assert result.exit_code == 2 and "category" in result.stderr


@pytest.mark.parametrize("data", [b"", b"not an email at all\n", PIXELS])
def test_non_email_input_exits_2_and_writes_nothing(repo, run, keys, data):
    before = snapshot(repo)
    result = new_from_email(run, repo, keys, data)
    assert result.exit_code == 2, result.stderr
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert snapshot(repo) == before


def test_from_and_from_email_together_are_refused(repo, run, keys, tmp_path, unchanged):
    eml = tmp_path / "report.eml"
    eml.write_bytes(make_email())
    result = run("-C", str(repo), "new", "--from", str(eml), "--from-email", str(eml),
                 as_member=keys["alice"])
    assert result.exit_code == 2 and "cannot be used together" in result.stderr


def test_show_lists_the_evidence(repo, run, keys):
    new_from_email(run, repo, keys, make_email())
    shown = run("-C", str(repo), "show", "2026-0001", as_member=keys["alice"], env=ENV).stdout
    assert "Evidence" in shown and FILE_NAME in shown


# --- triage: an email cannot say who is involved --------------------------------------------


def test_an_email_case_is_read_only_by_the_opener_and_the_triage_readers(repo, run, keys):
    assert new_from_email(run, repo, keys, make_email()).exit_code == 0
    case = repo / "cases" / "2026-0001.yaml"
    assert sorted(recipients_of(case.read_text())) == sorted([keys["alice"].public,
                                                              keys["bob"].public])
    assert raw_sops_decrypt(case, keys["carol"]).returncode == 128
    assert yaml.safe_load(case.read_text())["meta"]["triage"] is True
    listed = run("-C", str(repo), "list")
    assert "received (triage)" in listed.stdout
    due = json.loads(run("-C", str(repo), "due", "--within", "400", "--json", env=ENV).stdout)
    assert due[0]["triage"] is True  # the clock runs in triage too


def test_a_triage_reader_the_message_names_is_left_out_and_recused(repo, run, keys):
    named = make_email(text=f"It was bob at the meetup. {SENTINEL}")
    assert new_from_email(run, repo, keys, named).exit_code != 0  # alice alone: too few
    team = repo / "team.yaml"
    team.write_text(team.read_text().replace("escrow: []", f"escrow: [{keys['dave'].public}]"))
    git(repo, "commit", "-qam", "escrow key")
    assert run("-C", str(repo), "team", "accept", "--yes").exit_code == 0
    assert new_from_email(run, repo, keys, named).exit_code == 0
    case = repo / "cases" / "2026-0001.yaml"
    assert raw_sops_decrypt(case, keys["bob"]).returncode == 128
    assert yaml.safe_load(case.read_text())["meta"]["recused"] == ["bob"]
    assert sorted(recipients_of(case.read_text())) == sorted([keys["alice"].public,
                                                              keys["dave"].public])


def test_email_intake_without_enough_triage_readers_is_refused_saying_how(repo, run, keys):
    (repo / "cocflow.yaml").write_text((repo / "cocflow.yaml").read_text().replace(
        "triage_readers: [bob]\n", ""))
    git(repo, "commit", "-qam", "no triage readers")
    before = snapshot(repo)
    result = new_from_email(run, repo, keys, make_email())
    assert result.exit_code == 2 and "triage_readers" in result.stderr
    assert snapshot(repo) == before


def test_share_team_ends_triage_without_the_recused(repo, run, keys):
    assert new_from_email(run, repo, keys, make_email()).exit_code == 0
    assert run("-C", str(repo), "recuse", "2026-0001", "carol", "--reason", "other",
               as_member=keys["alice"]).exit_code == 0
    shared = run("-C", str(repo), "share", "2026-0001", "--team", "--yes", "--json",
                 as_member=keys["alice"])
    assert shared.exit_code == 0, shared.stderr
    case = repo / "cases" / "2026-0001.yaml"
    assert yaml.safe_load(case.read_text())["meta"]["triage"] is False
    assert raw_sops_decrypt(case, keys["carol"]).returncode == 128  # recused: never added
    assert run("-C", str(repo), "team", "add", "dave", "--key", keys["dave"].public
               ).exit_code == 0
    shared = run("-C", str(repo), "share", "2026-0001", "--team", "--yes", "--json",
                 as_member=keys["alice"])
    assert json.loads(shared.stdout)["shared"] == ["2026-0001"]
    assert raw_sops_decrypt(case, keys["dave"]).returncode == 0
    shown = run("-C", str(repo), "show", "2026-0001", "--json", as_member=keys["dave"])
    events = [e["event"] for e in json.loads(shown.stdout)["timeline"]]
    assert events.count("shared") == 2
