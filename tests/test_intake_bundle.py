"""The intake form's browser bundle: shipped with its recorded sha256, reproducible from the
pinned npm versions (intake-bundle/package-lock.json) by `make intake-bundle`."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from cocflow.adapters.intake_site import STATIC, asset
from cocflow.errors import EnvironmentProblem

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "intake-bundle"


def test_the_shipped_bundle_matches_its_recorded_checksum():
    recorded = (STATIC / "intake.js.sha256").read_text().strip()
    assert hashlib.sha256((STATIC / "intake.js").read_bytes()).hexdigest() == recorded
    assert len(recorded) == 64


def test_the_age_library_is_pinned_exactly():
    package = json.loads((BUNDLE / "package.json").read_text())
    lock = json.loads((BUNDLE / "package-lock.json").read_text())
    assert package["dependencies"]["age-encryption"] == "0.3.1"
    assert lock["packages"]["node_modules/age-encryption"]["version"] == "0.3.1"
    for name, entry in lock["packages"].items():
        if name:
            assert entry["integrity"].startswith("sha512-"), name


def test_a_changed_bundle_is_refused(monkeypatch, tmp_path):
    for name in ("intake.js", "intake.js.sha256"):
        shutil.copy(STATIC / name, tmp_path / name)
    with (tmp_path / "intake.js").open("a") as bundle:
        bundle.write("\n// changed\n")
    monkeypatch.setattr("cocflow.adapters.intake_site.STATIC", tmp_path)
    with pytest.raises(EnvironmentProblem, match="checksum"):
        asset("intake.js")


def test_the_bundle_rebuilds_byte_for_byte_from_the_pinned_versions(tmp_path):
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: the bundle rebuild is not checked here")
    work = tmp_path / "intake-bundle"
    shutil.copytree(BUNDLE, work, ignore=shutil.ignore_patterns("node_modules"))
    built = subprocess.run([str(work / "build.sh"), str(tmp_path / "intake.js")],
                           capture_output=True, text=True, timeout=300, check=False)
    if built.returncode != 0:
        if any(word in built.stderr for word in ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED",
                                                 "ETIMEDOUT", "network")):
            pytest.skip("offline: npm cannot fetch the pinned packages")
        raise AssertionError(built.stderr)
    assert (tmp_path / "intake.js").read_bytes() == (STATIC / "intake.js").read_bytes()
