"""cocflow benchmarks: medians of real commands on synthetic case repositories.

Run with `make bench` (or `python benchmarks/run.py --quick`). Prints a table and writes
benchmarks/results/<date>-<commit>.json for comparison between versions. Nothing here is a
test: figures are recorded in benchmarks/README.md, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bulk import build as build_bulk  # noqa: E402
from bulk import measure as measure_bulk  # noqa: E402
from scale import SIZES as SCALE_SIZES  # noqa: E402
from scale import print_scale, run_scale  # noqa: E402
from scenarios import (  # noqa: E402
    measure_new_and_move,
    measure_reader,
    measure_rekey,
    measure_show,
    measure_startup,
)
from synthetic import (  # noqa: E402
    build_repository,
    cocflow_command,
    environment,
    sample_case_path,
)
from timing import median_seconds, run_quiet  # noqa: E402

SIZES = (20, 200, 2_000, 10_000)
QUICK_SIZES = (20, 200)


def keyless_commands(root: Path, env: dict[str, str], sizes_repeats: int) -> dict[str, float]:
    results = {}
    for name in ("list", "due", "check"):
        args = [*cocflow_command(), "-C", str(root), name, "--json"]
        results[name] = median_seconds(lambda a=args: run_quiet(a, env), sizes_repeats)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 and 200 cases only")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rekey-cases", type=int, default=1_000)
    parser.add_argument("--read-cases", type=int, default=2_000,
                        help="real cases for the reader pair (200 with --quick)")
    parser.add_argument("--only-reader", action="store_true",
                        help="build and time only the reader pair")
    parser.add_argument("--only-scale", action="store_true",
                        help="only the issue-20 measurements (scale.py: writes, check, memory, "
                             "sync on realistic repositories)")
    parser.add_argument("--bulk-cases", type=int, default=2_000,
                        help="real cases for issue 18's scenarios (bulk.py; 200 with --quick)")
    options = parser.parse_args()
    sizes = QUICK_SIZES if options.quick else SIZES
    work = Path(tempfile.mkdtemp(prefix="cocflow-bench-"))
    try:
        report = ({"sizes": {}, "pairs": {}} if options.only_scale
                  else run_all(work, sizes, options))
        report["scale"] = run_scale(work, SCALE_SIZES if not options.quick else (20, 200),
                                    min(options.repeats, 5))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_table(report)
    print_scale(report["scale"])
    save(report)


def run_all(work: Path, sizes: tuple[int, ...], options: argparse.Namespace) -> dict:
    report: dict = {"sizes": {}, "pairs": {}}
    read_cases = min(options.read_cases, 200) if options.quick else options.read_cases
    read_root, read_member = build_repository(work / "repo-read", read_cases, real=True)
    report["pairs"]["read"] = measure_reader(sorted((read_root / "cases").glob("*.yaml")),
                                             environment(read_member), min(options.repeats, 3))
    report["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    if options.only_reader:
        return report
    bulk_cases = min(options.bulk_cases, 200) if options.quick else options.bulk_cases
    bulk_root, bulk_keys = build_bulk(work / "repo-bulk", bulk_cases)
    report["pairs"]["bulk"] = measure_bulk(bulk_root, bulk_keys, min(options.repeats, 3))
    for size in sizes:
        root, member = build_repository(work / f"repo-{size}", size)
        env = environment(member)
        repeats = options.repeats if size <= 2_000 else max(3, options.repeats // 2)
        report["sizes"][str(size)] = keyless_commands(root, env, repeats)
        print(f"measured {size} cases", file=sys.stderr)
    root, member = build_repository(work / "repo-ops", 20)
    env = environment(member)
    report["pairs"]["show"] = measure_show(root, env, sample_case_path(root), options.repeats)
    report["pairs"]["new_move"] = measure_new_and_move(root, env, options.repeats)
    report["pairs"]["startup"] = measure_startup(env, options.repeats * 2)
    rekey_root, rekey_member = build_repository(work / "repo-rekey", options.rekey_cases,
                                                real=True)
    report["pairs"]["rekey"] = measure_rekey(rekey_root, environment(rekey_member),
                                             options.rekey_cases)
    return report


def print_table(report: dict) -> None:
    sizes = report["sizes"]
    base = sizes.get("20") or next(iter(sizes.values()), {})
    print(f"\n{'cases':>7}  {'command':<7} {'median s':>9} {'x 20-case':>10}")
    for size, commands in sizes.items():
        for name, seconds in commands.items():
            print(f"{size:>7}  {name:<7} {seconds:>9.3f} {seconds / base[name]:>10.2f}")
    print(f"\n{'pair':<26} {'cocflow s':>10} {'baseline s':>11} {'ratio':>7}")
    for name, pair in report["pairs"].items():
        for label, (ours, theirs) in pair.items():
            print(f"{name + ': ' + label:<26} {ours:>10.3f} {theirs:>11.3f} {ours / theirs:>7.2f}")


def save(report: dict) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE,
                            capture_output=True, text=True, check=False).stdout.strip()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = HERE / "results" / f"{stamp}-{commit or 'nogit'}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"commit": commit, "at": stamp, **report}, indent=2))
    print(f"\nwrote {out.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()
