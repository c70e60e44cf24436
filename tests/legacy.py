"""Format 1, as cocflow wrote it before format 2 (the layout at e514fdc), built with sops
directly: for the migration tests.

Format 1 dumped the case with PyYAML after dropping null and empty values outside meta (sops
would have left them in plaintext), and had sops encrypt that YAML with `--unencrypted-regex
^meta$`. Evidence was the raw bytes as a sops binary document.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from cocflow.adapters import yamlio
from cocflow.adapters.sops import sops_binary


def compact(document: dict[str, Any]) -> dict[str, Any]:
    """Format 1's rule: drop every null or empty value outside meta."""
    body = {key: _compact(value) for key, value in document.items() if key != "meta"}
    return {"meta": document["meta"], **{k: v for k, v in body.items() if not _empty(v)}}


def _compact(value: Any) -> Any:
    if isinstance(value, dict):
        kept = {k: _compact(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if not _empty(v)}
    if isinstance(value, list):
        kept = [_compact(v) for v in value]
        return [v for v in kept if not _empty(v)]
    return value


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list, dict)) and len(value) == 0)


def _sops(args: list[str], stdin: bytes) -> str:
    done = subprocess.run([sops_binary(), *args, "/dev/stdin"], input=stdin, check=True,
                          capture_output=True)
    return done.stdout.decode("utf-8")


def format1_case(case_id: str, title: str, *, recused: tuple[str, ...] = (),
                 decision: dict[str, Any] | None = None,
                 evidence: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    """A decrypted format-1 case with a decision, recusals and a timeline."""
    at = "2026-03-02T10:00:00Z"
    return {
        "meta": {"schema": 1, "id": case_id,
                 "status": "decided" if decision else "investigating",
                 "received_at": "2026-03-01T10:00:00Z", "respond_by": "2026-03-15T10:00:00Z",
                 "responded_at": at, "closed_at": None, "recused": list(recused)},
        "report": {
            "title": title, "channel": "in-person",
            "reporter": {"name": "Sam", "contact": "sam@example.org", "anonymous": False},
            "reported": [{"name": "Someone", "contact": None, "team_handle": None}],
            "witnesses": [{"name": "W", "contact": None}],
            "occurred_at": "2026-02-28T20:00:00Z", "space": "event", "location": "hall B",
            "categories": ["intimidation", "stalking"],
            "description": "What happened.\nSecond line, trailing space ",
            "consent": {"name_reporter": True, "share_with_reported": False,
                        "confidentiality_request": None},
        },
        "recusals": [{"handle": h, "reason": "conflict-of-interest", "note": None, "at": at,
                      "by": "carol"} for h in recused],
        "timeline": [{"at": "2026-03-01T10:00:00Z", "by": "carol", "event": "received",
                      "note": None},
                     {"at": at, "by": "carol", "event": "acknowledged", "note": "replied"}],
        "decision": decision,
        "dismissal": None,
        "evidence": list(evidence),
    }


def write_format1_case(root: Path, document: dict[str, Any], recipients: list[str]) -> Path:
    """Encrypt a format-1 case the way format 1 did and write it to cases/<id>.yaml."""
    text = _sops(["encrypt", "--age", ",".join(recipients), "--input-type", "yaml",
                  "--output-type", "yaml", "--unencrypted-regex", "^meta$",
                  "--filename-override", "case.yaml"],
                 yamlio.dump(compact(document)).encode("utf-8"))
    path = root / "cases" / f"{document['meta']['id']}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def write_format1_evidence(root: Path, case_id: str, number: int, data: bytes,
                           recipients: list[str]) -> Path:
    """Raw bytes as a sops binary document, as format 1 stored evidence."""
    text = _sops(["encrypt", "--age", ",".join(recipients), "--input-type", "binary",
                  "--output-type", "json", "--filename-override", "evidence.bin"], data)
    path = root / "cases" / case_id / f"evidence-{number:03d}.sops.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
