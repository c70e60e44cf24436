"""Realistic case repositories (issue 20): every case real and decryptable, with a history.

Built on `synthetic.py` (its members, environment and git identity): five members, cases
received over ten years (ids by year), each with a different report (titles, descriptions
and notes of different lengths, different categories), written one to four times (opened,
acknowledged, a note, dismissed or closed) with one commit per write, some recusals, and 5%
with an evidence file. Versions are sealed by cocflow itself (`seal`: sops, schema, readers),
in parallel; the history is written with `git fast-import`, one commit per write, dated when
the write happened. Building 10,000 cases takes many minutes on a 2-core machine, so a
built repository is kept under benchmarks/.cache (ignored by git) and copied for each use.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from fast_seal import FastSealer, check_with_sops
from synthetic import GIT_IDENTITY, NOW

from cocflow.adapters import sops
from cocflow.adapters.keys import generate
from cocflow.adapters.sops import Keyring
from cocflow.domain import sealed
from cocflow.domain.case import event, new_case, recusal
from cocflow.domain.evidence import Attachment, file_name, with_evidence
from cocflow.domain.lifecycle import MoveRequest, apply_move
from cocflow.operations.setup import init_repository
from cocflow.operations.team import add_member
from cocflow.operations.workspace import Workspace, seal

VERSION = "v1"  # bump when the built repositories change shape
CACHE = Path(__file__).resolve().parent / ".cache"
MEMBERS = ("alice", "bob", "carol", "dave", "erin")
FIRST_YEAR = 2017
# Above this size, cases are sealed in-process after one sops call per recipient set
# (fast_seal.py): 10,000 cases and their histories would take hours of sops processes.
REAL_SOPS_UP_TO = int(os.environ.get("BENCH_REAL_SOPS_UP_TO", "2000"))
WORDS = ("meetup", "talk", "hallway", "chat", "slides", "party", "venue", "stream", "badge",
         "workshop", "keynote", "sprint", "comment", "message", "photo", "remark", "joke",
         "thread", "channel", "forum", "review", "ticket", "booth", "lunch", "dinner", "hotel",
         "bus", "queue", "panel", "speaker", "attendee", "volunteer", "organiser", "sponsor")
CATEGORIES = ("offensive-comments", "disruption", "intimidation", "unwelcome-sexual-attention",
              "continued-contact", "other")
SPACES = ("online", "event", "social", "outside")


def cached_repository(size: int) -> tuple[Path, Path]:
    """(root, alice's key file) of the cached repository of `size` cases; built if missing."""
    home = CACHE / f"realistic-{size}-{VERSION}"
    root, key = home / "repo", home / "repo-alice.txt"
    if not (home / "done").is_file():
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        build(root, size)
        (home / "done").write_text("built\n")
    return root, key


def copy_of(size: int, target: Path) -> tuple[Path, Path]:
    """A fresh copy of the cached repository (and the members' keys) at `target`/repo."""
    root, key = cached_repository(size)
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", str(root), str(target / "repo")], check=True)
    for handle in MEMBERS:
        shutil.copy(key.parent / f"repo-{handle}.txt", target / f"repo-{handle}.txt")
    return target / "repo", target / "repo-alice.txt"


def build(root: Path, size: int, seed: int = 20) -> None:
    os.environ.update(GIT_IDENTITY)
    os.environ["COCFLOW_NOW"] = NOW
    init_repository(root, ci="none")
    keys = {}
    for handle in MEMBERS:
        keys[handle] = root.parent / f"{root.name}-{handle}.txt"
        add_member(Workspace(root, Keyring(keys[handle])), handle, [generate(keys[handle])])
    ws = Workspace(root, Keyring(keys["alice"]))
    _ = ws.roster  # resolved once, before the threads share it
    if size > REAL_SOPS_UP_TO:  # sops itself seals one case per recipient set, then in-process
        sops.encrypt = FastSealer(keys["alice"], sops.encrypt).encrypt
    plans = _plan(size, random.Random(seed))
    work = root.parent / "versions"
    work.mkdir()
    done = [0]

    def write_case(plan: dict[str, Any]) -> None:
        _write_versions(ws, plan, work)
        done[0] += 1
        if done[0] % 500 == 0:
            print(f"  sealed {done[0]} of {size} cases", file=sys.stderr)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        list(pool.map(write_case, plans))
    _import_history(root, plans, work)
    shutil.rmtree(work)
    sample = random.Random(seed).sample(sorted((root / "cases").glob("*.yaml")), 20)
    check_with_sops(sample, {**os.environ, "SOPS_AGE_KEY_FILE": str(keys["alice"])})


def _plan(size: int, rng: random.Random) -> list[dict[str, Any]]:
    """What each case is and when each of its writes happened (ids by year of receipt)."""
    start = datetime(FIRST_YEAR, 1, 1, tzinfo=timezone.utc)
    span = (datetime(2026, 11, 20, tzinfo=timezone.utc) - start).total_seconds()
    received = sorted(start + timedelta(seconds=rng.random() * span) for _ in range(size))
    numbers: dict[int, int] = {}
    plans = []
    for index, at in enumerate(received):
        numbers[at.year] = numbers.get(at.year, 0) + 1
        writes = rng.choices((1, 2, 3, 4), weights=(3, 3, 2, 2))[0]
        plans.append({
            "id": f"{at.year}-{numbers[at.year]:04d}", "seed": rng.random(), "index": index,
            "times": [at + timedelta(days=2 * n + rng.random()) for n in range(writes)],
            "recuse": rng.choice(MEMBERS[1:]) if rng.random() < 0.1 else None,
            "evidence": rng.random() < 0.05 and writes >= 2,
        })
    return plans


def _text(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high))).capitalize() + "."


def _write_versions(ws: Workspace, plan: dict[str, Any], work: Path) -> None:
    rng = random.Random(plan["seed"])
    times, case_id = plan["times"], plan["id"]
    report = {"title": _text(rng, 2, 8), "channel": rng.choice(("form", "email", "in-person")),
              "description": _text(rng, 10, rng.choice((40, 200, 800))),
              "reported": [{"name": f"Person {rng.randint(1, 500)}"}],
              "categories": sorted(rng.sample(CATEGORIES, rng.randint(1, 2))),
              "space": rng.choice(SPACES)}
    recusals = ([recusal(plan["recuse"], "conflict-of-interest", "alice", times[0])]
                if plan["recuse"] else [])
    document = new_case(case_id, report, times[0], times[0] + timedelta(days=14), recusals,
                        "alice", times[0])
    for number, at in enumerate(times):
        evidence = None
        if number == 1:
            document = apply_move(document, MoveRequest("acknowledged"), "alice", at)
            if plan["evidence"]:
                data = rng.randbytes(rng.randint(500, 20_000))
                evidence = Attachment("photo.jpg", data, "image/jpeg")
                document = with_evidence(document, [evidence], [1], "alice", at)
        elif number == 2:
            document["timeline"] = [*document["timeline"], event("note", "alice", at,
                                                                 _text(rng, 5, 60))]
        elif number == 3:
            request = (MoveRequest("dismissed", reason="duplicate") if rng.random() < 0.5
                       else MoveRequest("investigating"))
            document = apply_move(document, request, "alice", at)
        text = seal(ws, document)
        document["meta"]["revision"] += 1  # seal stored the next version
        (work / f"{case_id}.{number}.yaml").write_text(text)
        if evidence is not None:
            framed = sealed.seal_evidence(evidence.data, 1, hashlib.sha256(evidence.data)
                                          .hexdigest())
            (work / f"{case_id}.{number}.evidence").write_text(
                sops.encrypt_bytes(framed, document["readers"], ws.keyring))


def _import_history(root: Path, plans: list[dict[str, Any]], work: Path) -> None:
    """One commit per write, in the order the writes happened, on top of the roster."""
    writes = sorted((at, plan["id"], number) for plan in plans
                    for number, at in enumerate(plan["times"]))
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()
    what = ("new", "move {} acknowledged", "note {}", "move {}")
    importer = subprocess.Popen(["git", "-C", str(root), "fast-import", "--quiet"],
                                stdin=subprocess.PIPE)
    assert importer.stdin is not None
    stream = importer.stdin
    for position, (at, case_id, number) in enumerate(writes):
        message = (what[number].format(case_id) if number else f"new {case_id}").encode()
        stream.write(b"commit refs/heads/main\n")
        stream.write(f"committer bench <bench@cocflow.invalid> {int(at.timestamp())} +0000\n"
                     .encode())
        stream.write(b"data %d\n%s\n" % (len(message), message))
        if position == 0:
            stream.write(f"from {head}\n".encode())
        for source, target in ((f"{case_id}.{number}.yaml", f"cases/{case_id}.yaml"),
                               (f"{case_id}.{number}.evidence",
                                f"cases/{case_id}/{file_name(1)}")):
            if (work / source).is_file():
                data = (work / source).read_bytes()
                stream.write(f"M 100644 inline {target}\ndata {len(data)}\n".encode())
                stream.write(data + b"\n")
    stream.close()
    if importer.wait() != 0:
        raise SystemExit("git fast-import failed")
    subprocess.run(["git", "-C", str(root), "reset", "--quiet", "--hard", "main"], check=True)


if __name__ == "__main__":
    for wanted in map(int, sys.argv[1:] or ["2000"]):
        built, _key = cached_repository(wanted)
        print(built)
