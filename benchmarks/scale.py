"""Work proportional to the change (issue 20): writes, check, memory and sync at scale.

On the realistic repositories of `realistic.py` (cached), each against its own baseline in the
same run:
- `note` and `move` at each size against the same write at 20 cases;
- `check` against a script that parses each case file once (PyYAML's C loader);
- the peak memory (max RSS, `/usr/bin/time -f %M`) of the commands that visit every case;
- `sync` of two clones that changed different cases against `git pull --rebase` + `git push`.
Run alone with `python benchmarks/scale.py [SIZES...]`; `make bench` runs it too.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from realistic import copy_of
from synthetic import cocflow_command, environment
from timing import median_seconds, run_quiet

from cocflow.adapters.git import GitRepo

SIZES = (20, 2_000, 10_000)
# One process parsing every case file once: the floor any keyless check pays.
PARSE_ONCE = """
import pathlib, sys, yaml
for path in sorted(pathlib.Path(sys.argv[1], "cases").glob("*.yaml")):
    yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)
"""


def cocflow(root: Path, *args: str) -> list[str]:
    return [*cocflow_command(), "-C", str(root), *args]


def run_json(args: list[str], env: dict[str, str]) -> object:
    done = subprocess.run(args, env=env, capture_output=True, check=False)
    return json.loads(done.stdout or b"null")


def pick_cases(root: Path, env: dict[str, str]) -> tuple[str, str]:
    """A case to note (any) and one to move (investigating, so it can go back and forth)."""
    listing = run_json(cocflow(root, "list", "--json"), env)
    cases = listing["cases"] if isinstance(listing, dict) else listing
    moving = next(c["id"] for c in cases if c["status"] == "investigating")
    noting = next(c["id"] for c in cases if c["id"] != moving)
    return noting, moving


def measure_writes(root: Path, env: dict[str, str], repeats: int) -> dict[str, float]:
    """Median wall time of `note` and of `move` (there and back) on one repository."""
    noting, moving = pick_cases(root, env)
    note = median_seconds(lambda: run_quiet(cocflow(root, "note", noting, "-m", "bench"), env),
                          repeats)
    timings = []
    for _ in range(repeats):
        for args in (["dismissed", "--reason", "duplicate"], ["investigating", "-m", "again"]):
            start = time.perf_counter()
            run_quiet(cocflow(root, "move", moving, *args), env)
            timings.append(time.perf_counter() - start)
    return {"note": note, "move": statistics.median(timings)}


def measure_check(root: Path, env: dict[str, str], repeats: int) -> dict[str, tuple[float, float]]:
    """Wall time, and CPU time (user + system of the process and its children), which a busy
    machine distorts far less: the two commands alternate, medians of each."""
    check = cocflow(root, "check", "--json")
    parse = [sys.executable, "-c", PARSE_ONCE, str(root)]
    walls: dict[str, list[float]] = {"check": [], "parse": []}
    cpus: dict[str, list[float]] = {"check": [], "parse": []}
    for turn in range(repeats + 1):  # the first turn warms the page cache up
        for name, args in (("check", check), ("parse", parse)):
            wall, cpu = timed(args, env)
            if turn:
                walls[name].append(wall)
                cpus[name].append(cpu)
    middle = statistics.median
    return {"check vs parse each file once (wall)": (middle(walls["check"]),
                                                     middle(walls["parse"])),
            "check vs parse each file once (CPU)": (middle(cpus["check"]),
                                                    middle(cpus["parse"]))}


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of a command."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run_quiet(args, env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def peak_mib(args: list[str], env: dict[str, str], stdin: bytes | None = None) -> float:
    """The largest resident set of the command or any process it waited for, in MiB."""
    with tempfile.NamedTemporaryFile(suffix=".rss") as out:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name, *args], env=env,
                       input=stdin, capture_output=True, check=False)
        return int(Path(out.name).read_text().split()[-1]) / 1024


def measure_memory(root: Path, env: dict[str, str], year: int, slow: bool) -> dict[str, float]:
    """Peak memory of each command that visits every case (`slow`: verify and rekey too,
    which decrypt every case)."""
    found = {
        "list": peak_mib(cocflow(root, "list", "--json"), env),
        "check": peak_mib(cocflow(root, "check", "--json"), env),
        "audit": peak_mib(cocflow(root, "audit", "--json"), env),
        f"report --year {year}": peak_mib(cocflow(root, "report", "--year", str(year),
                                                  "--json"), env),
        "team add": peak_mib(cocflow(root, "team", "add", "frank", "--key", _new_key(root)),
                             env),
        "team remove": peak_mib(cocflow(root, "team", "remove", "frank"), env),
    }
    noting, _moving = pick_cases(root, env)
    found["note"] = peak_mib(cocflow(root, "note", noting, "-m", "bench"), env)
    if slow:
        found["verify"] = peak_mib(cocflow(root, "verify", "--json"), env)
        found["team remove erin"] = peak_mib(cocflow(root, "team", "remove", "erin"),
                                             env)
        found["rekey"] = peak_mib(cocflow(root, "rekey", "--json"), env)
    return found


def _new_key(root: Path) -> str:
    from cocflow.adapters.keys import generate

    return generate(root.parent / "frank.txt")


def measure_sync(size: int, work: Path, env: dict[str, str], repeats: int
                 ) -> dict[str, tuple[float, float]]:
    """Two clones change different cases; the second integrates and pushes."""
    root, _key = copy_of(size, work / "origin")
    remote = work / "remote.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(root), str(remote)], check=True)
    one, two = work / "one", work / "two"
    for clone in (one, two):
        subprocess.run(["git", "clone", "--quiet", str(remote), str(clone)], check=True)
    first, second = pick_cases(root, env)
    ours, bare = [], []
    for round_number in range(repeats + 1):  # the first round warms up
        for timings, integrate in ((ours, [*cocflow(two, "sync", "--json")]),
                                   (bare, None)):
            run_quiet(cocflow(one, "note", first, "-m", f"one {round_number}"), env)
            run_quiet(cocflow(one, "sync"), env)
            run_quiet(cocflow(two, "note", second, "-m", f"two {round_number}"), env)
            start = time.perf_counter()
            if integrate is None:
                subprocess.run(["git", "-C", str(two), "pull", "--quiet", "--rebase"], env=env,
                               check=True, capture_output=True)
                subprocess.run(["git", "-C", str(two), "push", "--quiet"], env=env, check=True,
                               capture_output=True)
            else:
                run_quiet(integrate, env)
            if round_number:
                timings.append(time.perf_counter() - start)
    return {"sync vs pull --rebase + push": (statistics.median(ours), statistics.median(bare))}


def run_scale(work: Path, sizes: tuple[int, ...] = SIZES, repeats: int = 5,
              slow_memory: bool = False) -> dict:
    """Every issue-20 measurement; figures per size, ratios against 20 cases."""
    report: dict = {"writes": {}, "check": {}, "memory": {}, "sync": {}}
    for size in sizes:
        root, key = copy_of(size, work / f"scale-{size}")
        env = environment(key)
        # What the clone's first `sync` leaves: the paths each commit changes, indexed; the
        # history rules of the check before each commit walk one case's history with it.
        GitRepo(root).index_history_paths()
        report["writes"][str(size)] = measure_writes(root, env, repeats)
        if size == max(sizes):
            report["check"][str(size)] = measure_check(root, env, max(3, repeats // 2))
            report["memory"][str(size)] = measure_memory(root, env, 2020, slow_memory)
            report["sync"][str(size)] = measure_sync(size, work / f"sync-{size}", env,
                                                     max(3, repeats // 2))
        print(f"scale: measured {size} cases", file=sys.stderr)
    return report


def print_scale(report: dict) -> None:
    writes = report["writes"]
    base = writes.get("20") or next(iter(writes.values()), None)
    print(f"\n{'cases':>7}  {'write':<6} {'median s':>9} {'x 20-case':>10}")
    for size, found in writes.items() if base else ():
        for name, seconds in found.items():
            print(f"{size:>7}  {name:<6} {seconds:>9.3f} {seconds / base[name]:>10.2f}")
    for kind in ("check", "sync"):
        for size, pairs in report[kind].items():
            for label, (ours, theirs) in pairs.items():
                print(f"{size:>7}  {label:<34} {ours:>7.3f} s {theirs:>7.3f} s "
                      f"{ours / theirs:>6.2f}x")
    for size, found in report["memory"].items():
        for name, mib in found.items():
            print(f"{size:>7}  peak memory {name:<22} {mib:>7.1f} MiB")


def run_at_largest(work: Path, size: int, repeats: int = 3) -> dict:
    """Only the measurements taken at the largest size (check, memory, sync)."""
    root, key = copy_of(size, work / f"scale-{size}")
    env = environment(key)
    return {"writes": {}, "check": {str(size): measure_check(root, env, repeats)},
            "memory": {str(size): measure_memory(root, env, 2020, False)},
            "sync": {str(size): measure_sync(size, work / f"sync-{size}", env, repeats)}}


if __name__ == "__main__":
    import shutil

    chosen = tuple(int(a) for a in sys.argv[1:] if a.isdigit()) or SIZES
    place = Path(tempfile.mkdtemp(prefix="cocflow-scale-"))
    try:
        result = (run_at_largest(place, max(chosen)) if "--largest" in sys.argv
                  else run_scale(place, chosen, slow_memory="--slow" in sys.argv))
    finally:
        shutil.rmtree(place, ignore_errors=True)
    print_scale(result)
    print(json.dumps(result))
