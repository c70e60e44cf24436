"""Setting up: a new case repository, keys, who am I, and the doctor."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cocflow.adapters import sops, workflows
from cocflow.adapters.config import (
    CONFIG_TEXT,
    TEAM_FILE,
    TEAM_HEADER,
    load_config,
    load_roster,
)
from cocflow.adapters.git import GitRepo, require_git
from cocflow.adapters.key_files import default_key_file
from cocflow.adapters.keys import local_keyring, public_keys, whoami
from cocflow.adapters.paths import CONFIG_FILE, find_root
from cocflow.adapters.store import CASES_DIR
from cocflow.domain import install_spec
from cocflow.domain.install_spec import InstallSpec
from cocflow.errors import CocflowError, InvalidInput
from cocflow.operations import hooks as guards

CASES_README = (
    "Encrypted case files (cases/<id>.yaml) live here; cocflow writes them, never by hand.\n"
)
EMPTY_TEAM = "members: []\nescrow: []\nmin_recipients: 2\n"
# Plaintext that members save while working (a report, an email, an exported draft) and
# editor swap files never reach a commit; `check` flags them too if forced in.
GITIGNORE = (".venv/\n__pycache__/\n*.tmp\n*.cocflow-edit*\n*.eml\nreport*.yaml\n"
             "*.swp\n*.swo\n*~\n.#*\n\\#*#\n")


def init_repository(path: Path, ci: str = "github", install: str | None = None) -> Path:
    """A new case repository: git init, settings, empty roster, CI, guards, first commit.

    `ci` picks the CI files (github, gitlab, none); they install exactly `install` (a pinned
    spec), by default the one that reinstalls the running cocflow. The spec is checked
    before anything is created, and recorded in cocflow.yaml.
    """
    require_git()
    spec = resolve_install_spec(install, needed=ci != "none")
    path = path.resolve()
    if (path / CONFIG_FILE).exists():
        raise InvalidInput(f"{path} is already a cocflow case repository")
    if path.exists() and any(p.name != ".git" for p in path.iterdir()):
        raise InvalidInput(f"{path} is not empty: choose a new or empty directory")
    created = not path.exists()
    had_git = (path / ".git").exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
        repo = GitRepo(path) if (path / ".git").exists() else GitRepo.init(path)
        repo.verify_staged = guards.verify_staged
        (path / CONFIG_FILE).write_text(config_text(spec), encoding="utf-8")
        (path / TEAM_FILE).write_text(TEAM_HEADER + EMPTY_TEAM, encoding="utf-8")
        (path / CASES_DIR).mkdir(exist_ok=True)
        (path / CASES_DIR / "README.md").write_text(CASES_README, encoding="utf-8")
        (path / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
        workflows.write_ci(path, ci, spec)
        guards.install(path, repo)
        _install_merge_driver(path)
        repo.commit_all("cocflow: new case repository")
    except BaseException:
        _undo_init(path, created, had_git)
        raise
    return path


def resolve_install_spec(given: str | None, needed: bool) -> InstallSpec | None:
    """The spec given, else (when CI files need one) where this cocflow came from."""
    if given is not None:
        return install_spec.parse(given)
    if not needed:
        return None
    from cocflow.adapters.install_source import running_install

    document, version = running_install()
    return install_spec.from_direct_url(document, version)


def config_text(spec: InstallSpec | None) -> str:
    """cocflow.yaml for a new repository, with the pinned install spec when there is one."""
    if spec is None:
        return CONFIG_TEXT
    import json

    return (CONFIG_TEXT + "# What CI installs (the workflows run exactly this; never a bare name)\n"
            f"install: {json.dumps(spec.requirement)}\n")


def _undo_init(path: Path, created: bool, had_git: bool) -> None:
    """Leave the directory as `init` found it: gone, empty, or holding only its old .git."""
    if created:
        shutil.rmtree(path, ignore_errors=True)
        return
    for entry in path.iterdir():
        if entry.name == ".git" and had_git:
            continue  # someone's existing repository: never removed
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


@dataclass(frozen=True)
class Finding:
    """One line of `doctor`: what was checked, whether it is fine, and what to do if not."""

    name: str
    ok: bool
    detail: str

    def to_json(self) -> dict[str, object]:
        return {"check": self.name, "ok": self.ok, "detail": self.detail}


def doctor(repo: Path | None) -> list[Finding]:
    """Check sops, git, the key, the roster and the repository; never raises for a finding."""
    findings = [_check("sops", sops.describe)]
    findings.append(_check("git", _git_found))
    root_finding = _check("repository", lambda: str(find_root(repo)))
    findings.append(root_finding)
    findings.append(_check("key", _describe_key))
    if root_finding.ok:
        root = Path(root_finding.detail)
        findings.append(_check("settings", lambda: (load_config(root), "cocflow.yaml valid")[1]))
        findings.append(_check("roster", lambda: _describe_roster(root)))
        findings.append(_check("member", lambda: whoami(load_roster(root), local_keyring())))
        findings.append(_check("case access", lambda: _describe_case_access(root)))
        findings.append(_check("case format", lambda: _describe_format(root)))
        findings.append(_check("diff driver", lambda: _describe_diff(root)))
        findings.append(_check("pre-commit", lambda: _describe_hook(root)))
        findings.append(_check("merge driver", lambda: _describe_merge_driver(root)))
    return findings


def fix(repo: Path | None) -> None:
    """Re-install what `init` sets up locally: diff driver and pre-commit hook.

    A pre-commit hook that is not cocflow's is left alone; `doctor` says what to add to it.
    """
    root = find_root(repo)
    guards.install(root, GitRepo(root))
    _install_merge_driver(root)


def _install_merge_driver(root: Path) -> None:
    from cocflow.operations import (
        merge_driver as mergedriver,  # the reliability module owns the driver
    )

    mergedriver.install(root)


def _describe_diff(root: Path) -> str:
    if not (guards.gitattributes_ok(root) and guards.diff_configured(GitRepo(root))):
        raise CocflowError("not configured for this cocflow: run `cocflow doctor --fix`")
    return "git diff decrypts cases for members, shows ciphertext to anyone else"


def _describe_merge_driver(root: Path) -> str:
    from cocflow.operations import merge_driver as mergedriver

    repo = GitRepo(root)
    if not (mergedriver.configured(repo) and mergedriver.routed(repo)):
        raise CocflowError("case files do not merge through cocflow: run `cocflow doctor --fix`")
    return "concurrent edits to a case merge by timeline (cocflow sync)"


def _describe_hook(root: Path) -> str:
    installed, detail = guards.hook_status(GitRepo(root))
    if not installed:
        raise CocflowError(detail)
    return detail


def _describe_key() -> str:
    keyring = local_keyring()
    keys = public_keys(keyring)
    if not keys:
        raise CocflowError(
            f"no key at {keyring.age_key_file or default_key_file()}: run `cocflow keygen`"
        )
    return f"{len(keys)} local key(s); first: {keys[0]}"


def _describe_roster(root: Path) -> str:
    roster = load_roster(root)
    if len(roster.members) < roster.min_recipients:
        raise CocflowError(
            f"{len(roster.members)} member(s), fewer than min_recipients "
            f"({roster.min_recipients}): add members with `cocflow team add`"
        )
    return f"{len(roster.members)} member(s), min_recipients {roster.min_recipients}"


def _describe_case_access(root: Path) -> str:
    from cocflow.operations.access import local_access
    from cocflow.operations.workspace import Workspace

    keyring = local_keyring()
    keys = public_keys(keyring)
    if not keys:
        raise CocflowError("no local key: cannot tell which cases you can read")
    found = local_access(Workspace(root, keyring), keys)
    if found.broken:  # exactly what `audit` fails on
        raise CocflowError(
            f"{len(found.broken)} file(s) break the access policy ({_first(found.broken)}): "
            "`cocflow audit` says how; a member who reads them runs `cocflow rekey`"
        )
    recused = f"; recused from {len(found.recused)}" if found.recused else ""
    if found.not_shared:  # no problem: only `share` adds a reader
        return (f"your key reads every case shared with you{recused}; not shared with you "
                f"yet: {len(found.not_shared)} ({_first(found.not_shared)}), until a member "
                "who reads them runs `cocflow share`")
    return f"your key reads every case you are not recused from{recused}"


def _first(labels: tuple[str, ...]) -> str:
    return ", ".join(labels[:10]) + (", ..." if len(labels) > 10 else "")


def _describe_format(root: Path) -> str:
    from cocflow.adapters.sops import Keyring
    from cocflow.operations.migrate import plan_migrate
    from cocflow.operations.workspace import Workspace

    plan = plan_migrate(Workspace(root, Keyring()))
    if plan.cases:
        raise CocflowError(f"{len(plan.cases)} case(s) still in format 1 (or with format-1 "
                           "evidence), readable in part without a key: run `cocflow migrate`")
    if plan.unknown:
        raise CocflowError(f"{len(plan.unknown)} case(s) in a format this cocflow does not "
                           "know: upgrade cocflow")
    return f"every case is in format 2 ({len(plan.unchanged)} case(s))"


def _check(name: str, probe: Callable[[], object]) -> Finding:
    try:
        return Finding(name, True, str(probe()))
    except CocflowError as exc:
        return Finding(name, False, str(exc))


def create_key(out: Path | None) -> tuple[Path, str]:
    """A new age identity at `out` (default: where sops looks); its path and public key."""
    from cocflow.adapters.keys import generate

    target = out or default_key_file()
    return target, generate(target)


def _git_found() -> str:
    require_git()
    return "found"
