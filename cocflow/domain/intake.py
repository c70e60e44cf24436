"""The web intake's rules, as plain values: who the form encrypts to, what a well-formed
submission looks like before and after decryption, where replies wait, the page's policy.

The receipt code never leaves the reporter's browser. What travels inside the encrypted
report is the public age key derived from it (`reply_to`); replies wait under
`lookup_id(reply_to)`, which the browser computes from the same key (intake.js).
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import html
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cocflow.domain.access import Roster, members_named
from cocflow.domain.case import event
from cocflow.errors import InvalidInput

MAX_SUBMISSION_BYTES = 512 * 1024
MAX_REPLY_BYTES = 128 * 1024
MAX_STANZAS = 64
LOOKUP = re.compile(r"^[0-9a-f]{32}$")
SUBMISSION_ID = re.compile(r"^[0-9a-f]{32}$")
AGE_RECIPIENT = re.compile(r"^age1[02-9ac-hj-np-z]{58}$")
ARMOR_BEGIN = b"-----BEGIN AGE ENCRYPTED FILE-----"
ARMOR_END = b"-----END AGE ENCRYPTED FILE-----"
AGE_MAGIC = b"age-encryption.org/v1\n"

# The page's policy: its own origin only, nothing inline that runs, no framing, no referrer.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self'; form-action 'none'; base-uri 'none'")
HEADER_CSP = CSP + "; frame-ancestors 'none'"
SECURITY_HEADERS = {
    "Content-Security-Policy": HEADER_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    "Cache-Control": "no-store",
}


def lookup_id(reply_to: str) -> str:
    """Where replies to the holder of `reply_to` wait (the browser derives the same)."""
    digest = hashlib.sha256(b"cocflow-intake-lookup-v1\n" + reply_to.encode("ascii"))
    return digest.hexdigest()[:32]


def sri(data: bytes) -> str:
    """A Subresource Integrity value for `data`."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode("ascii")


def _age_keys(keys: Iterable[str]) -> list[str]:
    # The browser's age library encrypts to X25519 recipients; ssh keys stay for sops.
    return [key for key in keys if AGE_RECIPIENT.fullmatch(key)]


def form_config(roster: Roster, triage: Iterable[str]) -> dict[str, Any]:
    """What the page holds: the intake readers' and escrow's public age keys, and every
    member the reporter may exclude. Refuses a team the page could not encrypt to."""
    handles = list(triage)
    if not handles:
        raise InvalidInput("cocflow.yaml sets no triage_readers: the form encrypts reports to "
                           "them (and escrow); name at least one member there first")
    readers = []
    for handle in handles:
        member = roster.member(handle)
        if member is None:
            raise InvalidInput(f"cocflow.yaml: triage_readers names {handle}, who is not an "
                               "accepted member (a key change waits for `cocflow team accept`)")
        keys = _age_keys(member.keys)
        if not keys:
            raise InvalidInput(f"triage reader {handle} has no age key (age1...): a browser "
                               "cannot encrypt to an ssh key; add an age key with `team add`")
        readers.append({"handle": handle, "keys": keys})
    escrow = _age_keys(roster.escrow)
    if len(readers) + int(bool(escrow)) < roster.min_recipients:
        raise InvalidInput(f"the form would reach {len(readers)} triage reader(s)"
                           f"{' and escrow' if escrow else ''}, fewer than min_recipients "
                           f"({roster.min_recipients}): add triage_readers in cocflow.yaml")
    return {"readers": readers, "escrow": escrow,
            "members": [{"handle": m.handle, "name": m.name} for m in roster.members],
            "min_readers": roster.min_recipients, "submit": "submit", "replies": "replies/"}


def render_page(template: str, config: dict[str, Any], categories: Iterable[str],
                js_integrity: str, css_integrity: str) -> str:
    """Fill an intake page template; every value from team.yaml is escaped."""
    data = json.dumps(config, ensure_ascii=True, sort_keys=True).replace("<", "\\u003c")
    values = {
        "csp": html.escape(CSP), "config": data, "js_integrity": js_integrity,
        "css_integrity": css_integrity,
        "categories": "\n".join(_checkbox("category", c, c.replace("-", " "))
                                for c in categories),
        "exclude": "\n".join(_checkbox("exclude", m["handle"], m["name"] or m["handle"])
                             for m in config["members"]),
        "reported": _people("reported", "Who this is about"),
        "witnesses": _people("witness", "Witnesses", optional=True),
    }
    page = template
    for name, value in values.items():
        page = page.replace("{{" + name + "}}", value)
    return page


def _checkbox(name: str, value: str, label: str) -> str:
    return (f'<label><input type="checkbox" name="{name}" value="{html.escape(value)}"> '
            f"{html.escape(label)}</label>")


def _people(prefix: str, title: str, optional: bool = False) -> str:
    rows = [f"<p>{html.escape(title)}{' (optional)' if optional else ''}</p>"]
    for index in range(3):
        for part, label in (("name", "Name"), ("contact", "Contact or handle")):
            field = f"{prefix}-{index}-{part}"
            rows.append(f'<label for="{field}">{label} {index + 1}</label>'
                        f'<input type="text" id="{field}" name="{field}" maxlength="1000">')
    return "\n".join(rows)


def check_envelope(data: bytes, limit: int = MAX_SUBMISSION_BYTES) -> None:
    """Refuse anything that is not one age file (armored or binary) of a sane size."""
    if not data:
        raise InvalidInput("empty submission")
    if len(data) > limit:
        raise InvalidInput(f"submission larger than {limit} bytes")
    binary = dearmor(data) if data.lstrip().startswith(ARMOR_BEGIN) else data
    if not binary.startswith(AGE_MAGIC):
        raise InvalidInput("not an age encrypted file")
    _check_header(binary[len(AGE_MAGIC):])


def dearmor(data: bytes) -> bytes:
    """The binary age file inside ASCII armor (RFC 7468, 64-column lines)."""
    lines = data.strip().split(b"\n")
    lines = [line.rstrip(b"\r") for line in lines]
    if len(lines) < 3 or lines[0] != ARMOR_BEGIN or lines[-1] != ARMOR_END:
        raise InvalidInput("malformed age armor")
    body = lines[1:-1]
    if any(len(line) > 64 for line in body) or any(len(line) != 64 for line in body[:-1]):
        raise InvalidInput("malformed age armor")
    try:
        return base64.b64decode(b"".join(body), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("malformed age armor") from None


def _check_header(rest: bytes) -> None:
    stanzas = 0
    lines = iter(rest.split(b"\n"))
    line = next(lines, b"")
    while line.startswith(b"-> "):
        stanzas += 1
        if stanzas > MAX_STANZAS or not re.fullmatch(rb"-> [\x21-\x7e]+( [\x21-\x7e]+)*", line):
            raise InvalidInput("malformed age header")
        body = next(lines, None)
        while body is not None and len(body) == 64:
            body = next(lines, None)
        if body is None or not re.fullmatch(rb"[A-Za-z0-9+/]{0,63}", body):
            raise InvalidInput("malformed age header")
        line = next(lines, b"")
    if stanzas == 0 or not re.fullmatch(rb"--- [A-Za-z0-9+/]{43}", line[:47]):
        raise InvalidInput("malformed age header")


@dataclass(frozen=True)
class Submission:
    """A decrypted report from the form, checked: what `new` takes, and who must not read."""

    intake: dict[str, Any]
    excluded: tuple[str, ...]
    reply_to: str

    @property
    def lookup(self) -> str:
        return lookup_id(self.reply_to)


def parse_submission(plaintext: bytes, roster: Roster) -> Submission:
    """The decrypted payload as an intake document; anything else is refused whole."""
    try:
        payload = json.loads(plaintext.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("the decrypted submission is not a JSON report") from None
    if not isinstance(payload, dict) or payload.get("cocflow_intake") != 1 or \
            set(payload) != {"cocflow_intake", "report", "exclude", "reply_to"}:
        raise InvalidInput("the decrypted submission is not a cocflow intake report")
    reply_to, excluded, report = payload["reply_to"], payload["exclude"], payload["report"]
    if not isinstance(reply_to, str) or not AGE_RECIPIENT.fullmatch(reply_to):
        raise InvalidInput("the submission's reply key is not an age public key")
    if not isinstance(excluded, list) or not all(isinstance(h, str) for h in excluded):
        raise InvalidInput("the submission's excluded members are not a list of handles")
    for handle in excluded:
        if roster.member(handle) is None:
            raise InvalidInput("the submission excludes someone who is not a member")
    if not isinstance(report, dict) or report.get("channel") != "form":
        raise InvalidInput("the submission's report is not a form report")
    for person in report.get("reported") or []:
        if isinstance(person, dict) and person.get("team_handle") is not None:
            raise InvalidInput("a form report cannot set team_handle")
    wishes = [{"handle": h, "reason": "reporter-request",
               "note": "excluded by the reporter in the form"} for h in dict.fromkeys(excluded)]
    named = [h for person in report.get("reported") or [] if isinstance(person, dict)
             for h in members_named(roster, person) if h not in excluded]
    wishes += [{"handle": h, "reason": "conflict-of-interest",
                "note": "a reported person's name in the form matches this member"}
               for h in dict.fromkeys(named)]
    return Submission({"report": report, "recusals": wishes}, tuple(dict.fromkeys(excluded)),
                      reply_to)


def reply_payload(text: str, at: str) -> bytes:
    """What a reply holds before it is encrypted to the reporter (the page shows it)."""
    if not text.strip():
        raise InvalidInput("the reply is empty")
    data = json.dumps({"at": at, "text": text}, ensure_ascii=False).encode("utf-8")
    if len(data) > MAX_REPLY_BYTES // 2:
        raise InvalidInput("the reply is too long")
    return data


def record_reply(case: dict[str, Any], text: str, actor: str, now: datetime) -> dict[str, Any]:
    """The case with the reply sent to its reporter in its timeline (event `replied`)."""
    if not isinstance(case.get("followup"), dict):
        raise InvalidInput(f"case {case['meta']['id']} came from no web form: there is no "
                           "receipt code to reply to")
    replied = copy.deepcopy(case)
    replied.setdefault("timeline", []).append(event("replied", actor, now, text))
    return replied
