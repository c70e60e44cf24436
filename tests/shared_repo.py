"""A case repository built once per test module, for the many tests that only read it.

Module-scoped fixtures cannot use the function-scoped `repo`, `keys` and `run`; these
helpers do the same with the same isolation (home, git config and keys in a temp folder).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cocflow.adapters.keys import generate
from tests.conftest import UNSET, Key, Result, invoke_cli, isolation


def cli(*args: str, key: Key | None = None, now: str | None = None,
        input: str | bytes | None = None) -> Result:
    """The real CLI entry point, in-process, as `key`'s holder, at `now`."""
    env = {"SOPS_AGE_KEY_FILE": str(key.file)} if key else {}
    if now:
        env["COCFLOW_NOW"] = now
    return invoke_cli(args, env, input)


@contextmanager
def module_repo(base: Path) -> Iterator[tuple[Path, dict[str, Key]]]:
    """A repository with alice, bob and carol, under `base`; isolation lasts while open."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in isolation(base).items():
            patch.setenv(name, value)
        for name in UNSET:
            patch.delenv(name, raising=False)
        keys = {h: Key(h, base / f"{h}.txt", generate(base / f"{h}.txt"))
                for h in ("alice", "bob", "carol")}
        root = base / "repo"
        assert cli("init", str(root), "--ci", "none").exit_code == 0
        for key in keys.values():
            result = cli("-C", str(root), "team", "add", key.handle, "--key", key.public)
            assert result.exit_code == 0, result.stderr
        yield root, keys


def attacker_and_honest_clones(repo: Path, tmp_path: Path, run, keys  # type: ignore[no-untyped-def]
                               ) -> tuple[Path, Path]:
    """bob's clone (the attacker) and alice's (the honest member) of a bare remote of `repo`,
    each having run its first command (so each has accepted the roster it was cloned with)."""
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(repo), str(bare)], check=True)
    clones = []
    for who in ("bob", "alice"):
        where = tmp_path / f"{who}-clone"
        subprocess.run(["git", "clone", "--quiet", str(bare), str(where)], check=True)
        assert run("-C", str(where), "whoami", as_member=keys[who]).exit_code == 0
        clones.append(where)
    return clones[0], clones[1]
