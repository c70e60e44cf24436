"""Keys and messages that tell the truth: no key, a public key only, an SSH passphrase."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from cocflow.adapters.key_files import needs_passphrase
from cocflow.operations.parallel import parallel

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")


def ssh_key(folder: Path, passphrase: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", "",
                    "-f", str(path)], check=True)
    return path


def has_terminal() -> bool:
    try:
        os.close(os.open("/dev/tty", os.O_RDWR))
    except OSError:
        return False
    return True


def test_a_passphrase_protected_ssh_key_is_recognised(tmp_path):
    assert needs_passphrase(ssh_key(tmp_path / "locked", "correct horse"))
    assert not needs_passphrase(ssh_key(tmp_path / "open", ""))
    assert not needs_passphrase(tmp_path / "missing")


def test_without_any_key_show_says_so_instead_of_recused(repo, run, keys, open_case):
    case_id = open_case()
    result = run("-C", str(repo), "show", case_id)
    assert result.exit_code == 3
    assert "no local key found" in result.stderr and "recused" not in result.stderr


def test_a_key_file_with_only_a_public_key_says_so(repo, run, keys, open_case, tmp_path):
    case_id = open_case()
    public_only = tmp_path / "public.txt"
    public_only.write_text(f"{keys['alice'].public}\n")
    result = run("-C", str(repo), "show", case_id, env={"SOPS_AGE_KEY_FILE": str(public_only)})
    assert result.exit_code == 3
    assert "holds only a public key" in result.stderr and "recused" not in result.stderr


@pytest.mark.skipif(has_terminal(), reason="sops would ask for the passphrase on the terminal")
def test_a_passphrase_protected_ssh_key_is_explained_not_called_tampering(
        repo, run, keys, open_case, tmp_path):
    private = ssh_key(tmp_path / "ssh", "correct horse")
    public = " ".join(Path(f"{private}.pub").read_text().split()[:2])
    assert run("-C", str(repo), "team", "add", "dave", "--key", public).exit_code == 0
    case_id = open_case()
    result = run("-C", str(repo), "show", case_id,
                 env={"SOPS_AGE_SSH_PRIVATE_KEY_FILE": str(private)})
    assert result.exit_code == 3, result.stderr
    assert "protected by a passphrase" in result.stderr and "cocflow keygen" in result.stderr
    assert "tamper" not in result.stderr.lower() and "recused" not in result.stderr


def test_with_a_passphrase_key_sops_calls_run_one_at_a_time(monkeypatch, tmp_path):
    private = ssh_key(tmp_path / "ssh", "correct horse")
    monkeypatch.setenv("SOPS_AGE_SSH_PRIVATE_KEY_FILE", str(private))
    threads = parallel(lambda _item: threading.current_thread(), list(range(6)), jobs=4)
    assert set(threads) == {threading.current_thread()}
    monkeypatch.setenv("SOPS_AGE_SSH_PRIVATE_KEY_FILE", str(tmp_path / "none"))
    threads = parallel(lambda _item: threading.current_thread(), list(range(6)), jobs=4)
    assert threading.current_thread() not in set(threads)
