"""What a case repository's CI installs: an exact, immutable cocflow, never a bare name.

A name alone (`cocflow`, `cocflow==0.1.0`) installs whatever the index serves under it, next
to a token that may write issues; whoever controls the name controls the team's CI. Three
forms pin the code itself:

- a git URL pinned to a full commit: `cocflow @ git+https://host/team/cocflow@<40 hex>`;
- a version with the sha256 of its file: `cocflow==0.1.0 --hash=sha256:<64 hex>`;
- an https URL of a wheel or sdist with its sha256: `cocflow @ https://...whl#sha256=<hex>`.

Pure: parsing, the default derived from PEP 610 `direct_url.json`, and the shell lines CI
runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from cocflow.errors import InvalidInput

VCS, HASHED, URL = "vcs", "hashed", "url"
_COMMIT = r"[0-9a-f]{40}"
_SHA256 = r"[0-9a-f]{64}"
# Characters a pinned URL may hold: enough for git and https URLs, nothing a shell or YAML
# would read specially (no quotes, spaces, `$`, backticks, `;`, `&`, `|`).
_URL_TEXT = r"[A-Za-z0-9._~:/@%+=,-]+"
_VCS_FORM = re.compile(rf"^(?:cocflow\s*@\s*)?(git\+{_URL_TEXT})@({_COMMIT})$")
_HASHED_FORM = re.compile(
    rf"^cocflow==([0-9][0-9A-Za-z.+!-]*)((?:\s+--hash=sha256:{_SHA256})+)$"
)
_URL_FORM = re.compile(rf"^(?:cocflow\s*@\s*)?(https://{_URL_TEXT})#sha256=({_SHA256})$")
EXAMPLES = ('"git+https://github.com/your-team/cocflow@<full 40-character commit>" or '
            '"cocflow==0.1.0 --hash=sha256:<64 hex digits>"')


@dataclass(frozen=True)
class InstallSpec:
    """One pinned requirement, as recorded in cocflow.yaml (`install:`)."""

    kind: str
    requirement: str

    def shell_lines(self) -> list[str]:
        """The POSIX shell lines that install exactly this spec with the job's python."""
        if self.kind != HASHED:
            return [f"python -m pip install '{self.requirement}'"]
        # pip checks --hash only in a requirements file, and then demands hashes for every
        # dependency too: download the pinned file alone (hash-checked), install it from disk.
        return [
            'spec_dir="$(mktemp -d)"',
            f"printf '%s\\n' '{self.requirement}' > \"$spec_dir/requirements.txt\"",
            'python -m pip download --no-deps --require-hashes --dest "$spec_dir" '
            '-r "$spec_dir/requirements.txt"',
            'python -m pip install "$spec_dir"/cocflow-*',
        ]


def parse(text: str) -> InstallSpec:
    """A spec the user gave (`init --install`, cocflow.yaml); anything unpinned is refused."""
    spec = " ".join(str(text).split())
    if match := _VCS_FORM.match(spec):
        return InstallSpec(VCS, f"cocflow @ {match.group(1)}@{match.group(2)}")
    if match := _HASHED_FORM.match(spec):
        hashes = " ".join(match.group(2).split())
        return InstallSpec(HASHED, f"cocflow=={match.group(1)} {hashes}")
    if match := _URL_FORM.match(spec):
        return InstallSpec(URL, f"cocflow @ {match.group(1)}#sha256={match.group(2)}")
    shown = spec if len(spec) <= 80 else spec[:77] + "..."
    raise InvalidInput(
        f"not a pinned install spec: {shown!r}; CI must install exact code, e.g. {EXAMPLES}"
    )


def from_direct_url(document: dict[str, Any] | None, version: str) -> InstallSpec:
    """The spec that reinstalls the running cocflow, from its PEP 610 record.

    Refused (InvalidInput saying what to pass instead) when CI could not repeat the
    install: a local directory or file, a branch without a commit, or a package index
    (which records neither the file nor its hash).
    """
    if not document:
        raise InvalidInput(
            f"this cocflow {version} came from a package index, which records no hash CI "
            f"could check: pass --install \"cocflow=={version} --hash=sha256:...\" (the sha256 "
            "of the file you installed) or a git URL pinned to a commit"
        )
    url = str(document.get("url") or "")
    if url.lower().startswith("file:"):
        raise InvalidInput(
            "this cocflow was installed from a local path, which CI cannot reach: pass "
            f"--install with {EXAMPLES}, or --ci none"
        )
    vcs = document.get("vcs_info")
    if isinstance(vcs, dict):
        commit = str(vcs.get("commit_id") or "")
        if vcs.get("vcs") != "git" or not re.fullmatch(_COMMIT, commit):
            raise InvalidInput(f"this cocflow came from {vcs.get('vcs')} without a full commit: "
                               f"pass --install with {EXAMPLES}")
        return parse(f"git+{url}@{commit}")
    archive = document.get("archive_info")
    if isinstance(archive, dict):
        digest = (archive.get("hashes") or {}).get("sha256")
        if not digest and str(archive.get("hash") or "").startswith("sha256="):
            digest = str(archive["hash"]).split("=", 1)[1]
        if digest:
            return parse(f"{url.split('#')[0]}#sha256={digest}")
    raise InvalidInput(f"cannot tell how to reinstall this cocflow exactly: pass --install with "
                       f"{EXAMPLES}")
