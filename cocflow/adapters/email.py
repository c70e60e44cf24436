"""A report received as an email message: an intake document, its attachments, and notices.

Pure parsing with the standard library (`email`, policy.default; HTML-only mail through
`email_html`). Nothing here writes anything, and no error message quotes the message.
A message is a report even when it lacks Date or From, or has parts the parser cannot read:
what is missing is said in `notices`, and the caller keeps the original bytes as evidence.
"""

from __future__ import annotations

import contextlib
import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from cocflow.adapters.email_html import html_to_text
from cocflow.domain.evidence import Attachment, clean_name
from cocflow.domain.timestamps import format_timestamp
from cocflow.errors import InvalidInput

__all__ = ["ORIGINAL_NAME", "EmailReport", "html_to_text", "parse_email"]

TITLE_MAX = 200
DESCRIPTION_MAX = 100_000
NO_SUBJECT = "Report received by email"
NO_TEXT = "(The message has no text; see its evidence.)"
ORIGINAL_NAME = "original.eml"
CUT_MARK = "\n[cut by cocflow: the message text is longer than {limit} characters]"
# A sender's clock a little ahead of ours is not an error; a date far in the future is.
CLOCK_SKEW = timedelta(days=1)
_RENDERINGS = ("multipart/alternative", "multipart/related")
# Headers of which at least one marks the input as an email message (a YAML file, a picture
# or loose text has none of them).
_MAIL_HEADERS = ("from", "to", "cc", "date", "subject", "message-id", "received", "sender",
                 "reply-to", "return-path", "mime-version", "content-type", "delivered-to")


@dataclass(frozen=True)
class EmailReport:
    """What an email gives a new case: the intake document, the files, what was missing."""

    intake: dict[str, Any]
    attachments: tuple[Attachment, ...]
    notices: tuple[str, ...] = ()


def parse_email(data: bytes, *, now: datetime, received_at: datetime | None = None
                ) -> EmailReport:
    """Turn a raw RFC 5322 message into an intake document and attachments, or InvalidInput.

    `received_at` (given by the member) wins; else the newest `Received:` header; else now.
    `Date:` becomes `report.sent_at`. The original bytes are the first attachment.
    """
    message = _parse(data)
    notices: list[str] = []
    reporter = _reporter(message, notices)
    sent_at = _sent_at(message, now, notices)
    received = received_at or _newest_received(message, now) or now
    body = message.get_body(preferencelist=("plain",)) or message.get_body(
        preferencelist=("html",))
    attachments = (Attachment(ORIGINAL_NAME, data, "message/rfc822",
                              "the message as received, byte for byte"),
                   *_attachments(message, body))
    notices += _defects(message)
    report = {
        "title": _title(message),
        "channel": "email",
        "reporter": reporter,
        "sent_at": sent_at,
        "description": _description(body),
    }
    return EmailReport({"report": report, "received_at": format_timestamp(received)},
                       attachments, tuple(notices))


def _parse(data: bytes) -> EmailMessage:
    if not isinstance(data, bytes) or not data.strip():
        raise InvalidInput("the email message is empty")
    message = BytesParser(policy=policy.default).parsebytes(data)
    if not any(name.lower() in _MAIL_HEADERS for name in message):
        raise InvalidInput("this is not an email message (no mail headers such as From, Date "
                           "or Subject): save the message as .eml (raw source, headers "
                           "included) and try again")
    assert isinstance(message, EmailMessage)  # policy.default parses into EmailMessage
    return message


def _raw(message: Message, name: str) -> str | None:
    """A header's value as sent, encoded words decoded; None when the header is absent."""
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            text = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            with contextlib.suppress(ValueError, LookupError, UnicodeError):
                text = str(make_header(decode_header(text)))
            return " ".join(text.split())
    return None


def _reporter(message: Message, notices: list[str]) -> dict[str, Any]:
    raw = _raw(message, "From")
    if raw is None or not raw:
        notices.append("the message has no From header: the reporter is unknown (recorded as "
                       "anonymous); add what you know with `cocflow edit`")
        return {"name": None, "contact": None, "anonymous": True}
    # getaddresses reads both `Name <addr>` and the older `addr (Name)`.
    addresses = getaddresses([raw])
    shown, address = addresses[0] if addresses else ("", "")
    name = " ".join(shown.split()) or None
    if "@" not in address:
        notices.append("the From header holds no email address: the reporter's contact is "
                       "unknown; add it with `cocflow edit`")
        return {"name": name or raw[:200], "contact": None, "anonymous": False}
    return {"name": name, "contact": address, "anonymous": False}


def _sent_at(message: Message, now: datetime, notices: list[str]) -> str | None:
    raw = _raw(message, "Date")
    if raw is None:
        notices.append("the message has no Date header: when it was sent is unknown "
                       "(sent_at left empty)")
        return None
    moment = _date(raw)
    if moment is None:
        notices.append("the Date header of the message is not a date: when it was sent is "
                       "unknown (sent_at left empty)")
        return None
    if moment > now + CLOCK_SKEW:
        notices.append("the Date header of the message lies in the future: sent_at left empty")
        return None
    return format_timestamp(min(moment, now))


def _date(text: str) -> datetime | None:
    try:
        moment = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:  # "-0000": the sender's zone is unknown, the time is UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _newest_received(message: Message, now: datetime) -> datetime | None:
    """The time in the topmost readable `Received:` header (added by the team's server)."""
    for key, value in message.raw_items():
        if key.lower() != "received" or ";" not in str(value):
            continue
        moment = _date(" ".join(str(value).rsplit(";", 1)[1].split()))
        if moment is not None and moment <= now + CLOCK_SKEW:
            return min(moment, now)
    return None


def _defects(message: Message) -> list[str]:
    """One notice naming each part the parser could not read cleanly, and how."""
    found = []
    for index, part in enumerate(message.walk(), start=1):
        kinds = sorted({_defect_name(d) for d in part.defects})
        if kinds:
            found.append(f"part {index} ({part.get_content_type()}): {', '.join(kinds)}")
    if not found:
        return []
    return [f"parts of the message could not be read cleanly ({'; '.join(found)}); the "
            f"original message is kept whole as evidence {ORIGINAL_NAME}"]


def _defect_name(defect: object) -> str:
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", type(defect).__name__.removesuffix("Defect"))
    return words.lower() or "defect"


def _title(message: Message) -> str:
    subject = _raw(message, "Subject") or ""
    return subject[:TITLE_MAX] or NO_SUBJECT


def _description(body: Message | None) -> str:
    if body is None:
        return NO_TEXT
    text = _text_of(body)
    if body.get_content_subtype() == "html":
        text = html_to_text(text)
    text = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip()
    if not text:
        return NO_TEXT
    if len(text) > DESCRIPTION_MAX:
        mark = CUT_MARK.format(limit=DESCRIPTION_MAX)
        text = text[: DESCRIPTION_MAX - len(mark)] + mark
    return text


def _text_of(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except (LookupError, ValueError, AssertionError):  # unknown charset, broken encoding
        payload = part.get_payload(decode=True)
        content = payload if isinstance(payload, bytes) else b""
    if isinstance(content, bytes):
        return content.decode("utf-8", "replace")
    return content if isinstance(content, str) else ""


def _leaves(part: Message, parent: str | None = None) -> Iterator[tuple[Message, str | None]]:
    # A forwarded message (message/rfc822) is one piece of evidence, not opened up.
    if part.get_content_maintype() == "multipart" and part.is_multipart():
        for sub in part.get_payload():
            if isinstance(sub, Message):
                yield from _leaves(sub, part.get_content_type())
    else:
        yield part, parent


def _attachments(message: Message, body: Message | None) -> Iterator[Attachment]:
    for index, (part, parent) in enumerate(_leaves(message), start=1):
        if part is body or _is_rendering(part, parent):
            continue
        data = _payload(part)
        name = _file_name(part)
        if not data and name is None:
            continue
        yield Attachment(name or _generated_name(part, index), data, part.get_content_type())


def _is_rendering(part: Message, parent: str | None) -> bool:
    """A text alternative of the body (the HTML twin of a plain-text mail), not a file."""
    return (part.get_content_type() in ("text/plain", "text/html") and parent in _RENDERINGS
            and _file_name(part) is None and part.get_content_disposition() != "attachment")


def _payload(part: Message) -> bytes:
    if part.is_multipart():  # message/rfc822 and friends: the enclosed message(s) as sent
        return b"".join(inner.as_bytes() for inner in part.get_payload()
                        if isinstance(inner, Message))
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _file_name(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except (ValueError, TypeError, LookupError):
        return None
    return clean_name(name) if name else None


def _generated_name(part: Message, index: int) -> str:
    kind = part.get_content_type()
    extension = ".eml" if kind == "message/rfc822" else mimetypes.guess_extension(kind) or ".bin"
    return f"part-{index}{extension}"
