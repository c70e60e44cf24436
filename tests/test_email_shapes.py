"""Email intake keeps everything and dates it right, whatever shape the message has.

Messages are written as mail clients and servers produce them: Received: chains, missing
Date or From, `addr (Name)`, nested multipart/alternative with a GIF, PGP/MIME-signed,
forwarded message/rfc822, HTML-only, broken boundaries. Each opens a case in one commit
with the original kept byte for byte as encrypted evidence `original.eml`.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest

from cocflow.adapters.email import parse_email
from tests.conftest import SENTINEL, git, snapshot

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
ENV = {"COCFLOW_NOW": "2026-11-20T12:00:00Z"}
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00" \
      b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;" + b"GIF-SENTINEL-5501"

# A message as delivered: the newest Received: (our server) on top, an old sender clock.
DELIVERED = (
    "Received: from mx.example.org by coc.example.org with ESMTPS id 1x;\r\n"
    "\tWed, 18 Nov 2026 07:15:02 +0100\r\n"
    "Received: from laptop.local by mx.example.org with ESMTP id 0y;\r\n"
    "\tTue, 17 Nov 2026 23:59:59 -0800\r\n"
    "From: zoe@example.org (Zoe Unal)\r\n"
    "To: coc@example.org\r\n"
    "Subject: What happened at the sprint\r\n"
    "Date: Mon, 1 Jan 2001 10:00:00 +0000\r\n"
    "Message-ID: <1@laptop.local>\r\n"
    "\r\n"
    f"He kept messaging me. {SENTINEL}\r\n"
).encode()

NO_DATE_NO_FROM = (
    b"To: coc@example.org\r\n"
    b"Subject: anonymous tip\r\n"
    b"\r\n"
    b"Someone at the booth was harassing people.\r\n"
)

NESTED = (
    b"From: Sam <sam@example.org>\r\n"
    b"Date: Tue, 17 Nov 2026 09:30:00 +0000\r\n"
    b"Subject: screenshots\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="OUTER"\r\n'
    b"\r\n"
    b"--OUTER\r\n"
    b'Content-Type: multipart/alternative; boundary="INNER"\r\n'
    b"\r\n"
    b"--INNER\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"See the picture.\r\n"
    b"--INNER\r\n"
    b'Content-Type: multipart/related; boundary="REL"\r\n'
    b"\r\n"
    b"--REL\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"\r\n"
    b'<p>See <img src="cid:pic"></p>\r\n'
    b"--REL\r\n"
    b"Content-Type: image/gif\r\n"
    b"Content-ID: <pic>\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
) + __import__("base64").encodebytes(GIF).replace(b"\n", b"\r\n") + (
    b"--REL--\r\n"
    b"--INNER--\r\n"
    b"--OUTER--\r\n"
)

SIGNED_TEXT = (
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "I confirm what I said on the call.=20\r\n"
    "-- \r\n"
    "Sam\r\n"
)
SIGNED = (
    "From: Sam <sam@example.org>\r\n"
    "Date: Tue, 17 Nov 2026 09:30:00 +0000\r\n"
    "Subject: signed statement\r\n"
    "MIME-Version: 1.0\r\n"
    'Content-Type: multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature";'
    ' boundary="SIG"\r\n'
    "\r\n"
    "--SIG\r\n"
    f"{SIGNED_TEXT}"
    "--SIG\r\n"
    'Content-Type: application/pgp-signature; name="signature.asc"\r\n'
    "\r\n"
    "-----BEGIN PGP SIGNATURE-----\r\n"
    "iHUEARYIAB0WIQQAAAAAAAAAAAAAAAAAAAAAAAAAAAUCZ0AAAAAACgkQAAAAAAAAAAA=\r\n"
    "=AAAA\r\n"
    "-----END PGP SIGNATURE-----\r\n"
    "--SIG--\r\n"
).encode()

BROKEN = (
    b"From: sam@example.org\r\n"
    b"Date: Tue, 17 Nov 2026 09:30:00 +0000\r\n"
    b"Subject: cut off\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="NEVER"\r\n'
    b"\r\n"
    b"This text has no boundary at all.\r\n"
)


def parse(data: bytes, received_at: datetime | None = None):
    return parse_email(data, now=NOW, received_at=received_at)


def test_received_at_is_the_newest_received_header_and_date_is_sent_at():
    parsed = parse(DELIVERED)
    assert parsed.intake["received_at"] == "2026-11-18T06:15:02Z"
    assert parsed.intake["report"]["sent_at"] == "2001-01-01T10:00:00Z"


def test_received_at_given_by_the_member_wins():
    given = datetime(2026, 11, 19, 8, 0, tzinfo=timezone.utc)
    assert parse(DELIVERED, given).intake["received_at"] == "2026-11-19T08:00:00Z"


def test_the_old_addr_name_form_keeps_the_name():
    reporter = parse(DELIVERED).intake["report"]["reporter"]
    assert reporter == {"name": "Zoe Unal", "contact": "zoe@example.org", "anonymous": False}


def test_a_message_without_date_or_from_is_a_report_and_says_what_is_missing():
    parsed = parse(NO_DATE_NO_FROM)
    report = parsed.intake["report"]
    assert report["sent_at"] is None
    assert report["reporter"] == {"name": None, "contact": None, "anonymous": True}
    assert parsed.intake["received_at"] == "2026-11-20T12:00:00Z"
    assert any("no Date header" in n for n in parsed.notices)
    assert any("no From header" in n for n in parsed.notices)


@pytest.mark.parametrize(("data", "notice"), [
    (b"From: nobody\nDate: Tue, 17 Nov 2026 09:30:00 +0000\n\nhi\n", "no email address"),
    (b"From: a@example.org\nDate: someday\n\nhi\n", "not a date"),
    (b"From: a@example.org\nDate: Tue, 17 Nov 2099 09:30:00 +0000\n\nhi\n", "future"),
])
def test_unreadable_sender_or_date_still_opens_with_a_notice(data, notice):
    parsed = parse(data)
    assert any(notice in n for n in parsed.notices)
    assert parsed.intake["report"]["description"] == "hi"


def test_nested_multipart_keeps_its_gif_and_the_original():
    parsed = parse(NESTED)
    assert parsed.attachments[0].data == NESTED
    assert [a.data for a in parsed.attachments[1:]] == [GIF]
    assert parsed.intake["report"]["description"] == "See the picture."
    assert parsed.notices == ()


def test_pgp_signed_message_keeps_the_signed_bytes_and_the_signature():
    parsed = parse(SIGNED)
    original, signature = parsed.attachments
    assert SIGNED_TEXT.encode() in original.data  # the exact bytes the signature covers
    assert signature.media_type == "application/pgp-signature"
    assert b"BEGIN PGP SIGNATURE" in signature.data
    assert parsed.intake["report"]["description"].startswith("I confirm what I said")


def test_parser_defects_are_named_in_a_warning():
    parsed = parse(BROKEN)
    (notice,) = parsed.notices
    assert "part 1 (multipart/mixed)" in notice and "boundary" in notice
    assert "original.eml" in notice
    assert parsed.attachments[0].data == BROKEN


# --- through the CLI --------------------------------------------------------------------------

@pytest.fixture
def repo(repo: Path, run) -> Path:
    """Email intake needs triage readers: bob reads every email case with whoever opens it."""
    (repo / "cocflow.yaml").write_text((repo / "cocflow.yaml").read_text()
                                       + "triage_readers: [bob]\n")
    git(repo, "commit", "-qam", "triage readers")
    accepted = run("-C", str(repo), "team", "accept", "--yes")  # a widening: accepted by hand
    assert accepted.exit_code == 0
    return repo


def new_from_email(run, repo, keys, data: bytes, *extra: str):
    return run("-C", str(repo), "new", "--from-email", "-", "--json", *extra, input=data,
               as_member=keys["alice"], env=ENV)


def test_an_email_dated_2001_opens_a_case_of_the_year_it_was_received(repo, run, keys):
    result = new_from_email(run, repo, keys, DELIVERED)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["id"] == "2026-0001"
    due = run("-C", str(repo), "due", "--within", "30", "--json", env=ENV)
    assert json.loads(due.stdout)[0]["respond_by"] == "2026-12-02T06:15:02Z"


def test_received_at_option_sets_the_clock_and_the_year(repo, run, keys):
    result = new_from_email(run, repo, keys, DELIVERED, "--received-at", "2026-11-19T08:00:00Z")
    assert result.exit_code == 0, result.stderr
    meta = json.loads(run("-C", str(repo), "list", "--json").stdout)[0]
    assert meta["received_at"] == "2026-11-19T08:00:00Z"


def test_received_at_in_the_future_is_refused(repo, run, keys, unchanged):
    result = new_from_email(run, repo, keys, DELIVERED, "--received-at", "2026-12-19T08:00:00Z")
    assert result.exit_code == 2 and "future" in result.stderr


def test_original_message_is_kept_byte_exact_as_encrypted_evidence(repo, run, keys, tmp_path):
    assert new_from_email(run, repo, keys, SIGNED).exit_code == 0
    out = tmp_path / "out.eml"
    result = run("-C", str(repo), "evidence", "2026-0001", "1", "--out", str(out),
                 as_member=keys["alice"])
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes() == SIGNED


def test_message_without_attachments_opens_with_json(repo, run, keys):
    result = new_from_email(run, repo, keys, NO_DATE_NO_FROM)
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["id"] == "2026-0001" and document["evidence"] == 1
    assert any("no From header" in w for w in document["warnings"])
    assert "Warning: the message has no Date header" in result.stderr


def test_parser_defects_are_a_warning_on_the_command_line(repo, run, keys):
    result = new_from_email(run, repo, keys, BROKEN)
    assert result.exit_code == 0 and "could not be read cleanly" in result.stderr


def test_an_attachment_over_the_limit_is_left_out_and_the_case_opens(repo, run, keys):
    big = EmailMessage()
    big["From"] = "sam@example.org"
    big["Subject"] = "with a video"
    big.set_content("The video is attached.")
    big.add_attachment(b"v" * 5000, maintype="video", subtype="mp4", filename="NAME-9921.mp4")
    big.add_attachment(b"small", maintype="text", subtype="plain", filename="note.txt")
    data = big.as_bytes()
    with (repo / "cocflow.yaml").open("a") as config:
        config.write("attachment_max_bytes: 4000\n")
    git(repo, "commit", "-qam", "smaller attachments")
    result = new_from_email(run, repo, keys, data)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["evidence"] == 1  # note.txt
    assert "the original message is" in result.stderr
    assert "attachment 1 of the message (video/mp4) is 5000 bytes" in result.stderr
    assert "cocflow attach 2026-0001 FILE" in result.stderr
    assert "NAME-9921" not in result.stderr


def test_an_error_after_the_commit_says_the_change_was_committed(repo, run, keys, monkeypatch):
    import cocflow.cli.cases

    def broken(_value):
        raise KeyError("x")

    monkeypatch.setattr(cocflow.cli.cases, "emit_json", broken)
    before = snapshot(repo)
    result = new_from_email(run, repo, keys, DELIVERED)
    assert snapshot(repo)[0] != before[0]
    assert result.exit_code == 1
    assert "nothing was changed" not in result.stderr
    assert "the change was committed (`open 2026-0001 (received)`" in result.stderr
