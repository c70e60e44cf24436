"""A report received as an email message: an intake document plus its attachments.

Pure parsing with the standard library (`email`, policy.default; `html.parser` for
HTML-only mail). Nothing here writes anything, and no error message quotes the message.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from html.parser import HTMLParser
from typing import Any

from cocflow.domain.evidence import Attachment, clean_name, require_size
from cocflow.domain.timestamps import format_timestamp
from cocflow.errors import InvalidInput

TITLE_MAX = 200
DESCRIPTION_MAX = 100_000
NO_SUBJECT = "Report received by email"
NO_TEXT = "(The message has no text; see its evidence.)"
CUT_MARK = "\n[cut by cocflow: the message text is longer than {limit} characters]"
# A sender's clock a little ahead of ours is not an error; a date far in the future is.
CLOCK_SKEW = timedelta(days=1)
_RENDERINGS = ("multipart/alternative", "multipart/related")


@dataclass(frozen=True)
class EmailReport:
    """What an email gives a new case: the intake document and the files to attach."""

    intake: dict[str, Any]
    attachments: tuple[Attachment, ...]


def parse_email(data: bytes, *, max_attachment_bytes: int, now: datetime) -> EmailReport:
    """Turn a raw RFC 5322 message into an intake document and attachments, or InvalidInput."""
    message = _parse(data)
    reporter = _reporter(message)
    received_at = _received_at(message, now)
    body = message.get_body(preferencelist=("plain",)) or message.get_body(
        preferencelist=("html",))
    attachments = tuple(_attachments(message, body))
    for index, attachment in enumerate(attachments, start=1):
        require_size(attachment, max_attachment_bytes, f"attachment {index} of the message")
    report = {
        "title": _title(message),
        "channel": "email",
        "reporter": reporter,
        "description": _description(body),
    }
    return EmailReport({"report": report, "received_at": received_at}, attachments)


def _parse(data: bytes) -> EmailMessage:
    if not isinstance(data, bytes) or not data.strip():
        raise InvalidInput("the email message is empty")
    message = BytesParser(policy=policy.default).parsebytes(data)
    if "From" not in message:
        raise InvalidInput("this is not an email message (no From header): save the message "
                           "as .eml (raw source, headers included) and try again")
    assert isinstance(message, EmailMessage)  # policy.default parses into EmailMessage
    return message


def _header(message: Message, name: str) -> Any:
    try:
        return message[name]
    except (ValueError, TypeError, IndexError, LookupError):
        raise InvalidInput(f"the {name} header of the message cannot be read") from None


def _reporter(message: Message) -> dict[str, Any]:
    header = _header(message, "From")
    try:
        addresses = header.addresses
    except (AttributeError, ValueError, TypeError, IndexError):
        addresses = ()
    if not addresses or not addresses[0].addr_spec or "@" not in addresses[0].addr_spec:
        raise InvalidInput("the From header of the message holds no email address")
    sender = addresses[0]
    name = " ".join(sender.display_name.split()) or None
    return {"name": name, "contact": sender.addr_spec, "anonymous": False}


def _received_at(message: Message, now: datetime) -> str:
    if "Date" not in message:
        raise InvalidInput("the message has no Date header, so the time it was sent is unknown")
    moment = getattr(_header(message, "Date"), "datetime", None)
    if not isinstance(moment, datetime):
        raise InvalidInput("the Date header of the message is not a date")
    if moment.tzinfo is None:  # "-0000": the sender's zone is unknown, the time is UTC
        moment = moment.replace(tzinfo=timezone.utc)
    if moment > now + CLOCK_SKEW:
        raise InvalidInput("the Date header of the message lies in the future")
    return format_timestamp(min(moment, now))


def _title(message: Message) -> str:
    subject = " ".join(str(_header(message, "Subject") or "").split())
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


class _TextExtractor(HTMLParser):
    """Readable text from HTML: blocks become lines, links keep their target."""

    BLOCKS = frozenset({
        "p", "div", "br", "tr", "table", "ul", "ol", "blockquote", "pre", "hr", "section",
        "article", "header", "footer", "h1", "h2", "h3", "h4", "h5", "h6",
    })
    HIDDEN = frozenset({"script", "style", "head", "title", "template", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.hidden = 0
        self.pre = 0
        self.links: list[tuple[str | None, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag == "li":
            self.out.append("\n- ")
        elif tag in self.BLOCKS:
            self.out.append("\n")
        if tag == "pre":
            self.pre += 1
        if tag == "a":
            self.links.append((dict(attrs).get("href"), len(self.out)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.out.append("\n")
        if tag == "pre":
            self.pre = max(0, self.pre - 1)
        if tag == "a" and self.links:
            href, start = self.links.pop()
            shown = "".join(self.out[start:])
            if href and not href.startswith("#") and href not in shown:
                self.out.append(f" <{href}>")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.out.append(data if self.pre else re.sub(r"\s+", " ", data))

    def text(self) -> str:
        lines = (line.strip() for line in "".join(self.out).splitlines())
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(html: str) -> str:
    """Readable plain text from an HTML mail body."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return parser.text()
