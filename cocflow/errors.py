"""The whole error tree: raised deep, turned into `Error: ...` and an exit code in the CLI.

Callers catch errors by class, never by exit number. Every error that means "the environment
is not fit to run" (exit 4) subclasses `EnvironmentProblem`, so a command that stops on the
environment can catch that one class.
"""

from __future__ import annotations


class CocflowError(Exception):
    """Base of every error cocflow reports to a user; `exit_code` follows DESIGN.md §5."""

    exit_code = 1


# --- exit 1: the command ran and found problems ------------------------------------------


class ProblemsFound(CocflowError):
    """The command ran and found problems (check, verify, audit, incomplete rekey)."""

    exit_code = 1


class IntegrityError(CocflowError):
    """A case file was changed without the key; never shown as data."""

    exit_code = 1


class Tampered(IntegrityError):
    """A case file changed without the key; carries which file and why, never content."""

    def __init__(self, label: str, reason: str, file: str | None = None) -> None:
        self.label, self.reason, self.file = label, reason, file
        where = file or "FILE"
        super().__init__(
            f"{label} failed its integrity check ({reason}): it was changed without the key "
            f"and is not shown; restore it from git history (`git log -- {where}` lists its "
            f"versions, `git checkout COMMIT -- {where}` brings one back) and tell the team"
        )


class Unreadable(CocflowError):
    """A file that decrypts, MAC intact, into something this cocflow cannot read (written with a
    key by another tool, or in a format this version does not know): not shown, and not called
    tampering, because whoever wrote it held a key."""

    exit_code = 1

    def __init__(self, reason: str, label: str | None = None, file: str | None = None) -> None:
        self.reason, self.label, self.file = reason, label, file
        if label is None:
            super().__init__(reason)
            return
        where = file or "FILE"
        super().__init__(
            f"{label} cannot be read by this cocflow ({reason}): it was written outside cocflow "
            f"or by another version, and is not shown; `git log -- {where}` lists its versions"
        )

    def about(self, label: str, file: str | None) -> Unreadable:
        """The same reason, naming the file."""
        return Unreadable(self.reason, label, file)


class MergeConflict(CocflowError):
    """Both sides changed the same field of a case differently; nothing was merged."""

    exit_code = 1


# --- exit 2: bad usage or invalid input ---------------------------------------------------


class InvalidInput(CocflowError):
    """Bad usage or invalid input: schema, illegal move, unknown case or handle."""

    exit_code = 2


class MemberNamed(InvalidInput):
    """A reported person's name or contact matches a member, but no team_handle says so."""

    def __init__(self, name: str, handle: str) -> None:
        self.name, self.handle = name, handle
        super().__init__(
            f"a reported person's name or contact matches the member {handle}, but no "
            f"team_handle says whether it is them: if it is, run again with `--recuse "
            f"{handle}` (they must not read the case); if not, with `--not-a-member NAME` "
            "naming the reported person as written in the report; nothing was changed")


class SubmissionReplayed(InvalidInput):
    """The intake receiver already holds (or held) this exact ciphertext."""


# --- exit 3: no local key opens the case --------------------------------------------------


class AccessDenied(CocflowError):
    """No local key can open this case (recused, or not a member)."""

    exit_code = 3


# --- exit 4: the environment --------------------------------------------------------------


class EnvironmentProblem(CocflowError):
    """sops or git missing, not a case repository, unsafe git state."""

    exit_code = 4


class SopsFailed(EnvironmentProblem):
    """sops ran and failed for a reason that is not a key or MAC problem (crashed, hung,
    killed, or gave no document): the environment, like a missing sops."""


class GitFailed(EnvironmentProblem):
    """git ran and refused (a hook, missing identity, a lock, failed plumbing)."""


class SyncConflict(EnvironmentProblem):
    """git could not integrate upstream; the clone was put back as it was."""


# --- inside the in-process sops reader ----------------------------------------------------


class NotHandled(Exception):
    """The in-process sops reader meets something it does not implement exactly (a key type, a
    YAML feature, a newer sops): the sops binary decides instead. Raised only by
    `sops_reader.decrypt_in_process`, which `decrypt_document` turns into a sops call; it never
    reaches the CLI. Carries the reason, never content."""


class ReceiverUnreachable(EnvironmentProblem):
    """The intake receiver did not answer, or refused the team's request (URL, token, TLS)."""
