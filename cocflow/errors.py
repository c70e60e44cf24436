"""One error tree: raised deep, turned into `Error: ...` and an exit code in the CLI."""

from __future__ import annotations


class CocflowError(Exception):
    """Base of every error cocflow reports to a user; `exit_code` follows DESIGN.md §5."""

    exit_code = 1


class ProblemsFound(CocflowError):
    """The command ran and found problems (check, verify, audit, incomplete rekey)."""

    exit_code = 1


class IntegrityError(CocflowError):
    """A case file was changed without the key; never shown as data."""

    exit_code = 1


class InvalidInput(CocflowError):
    """Bad usage or invalid input: schema, illegal move, unknown case or handle."""

    exit_code = 2


class AccessDenied(CocflowError):
    """No local key can open this case (recused, or not a member)."""

    exit_code = 3


class EnvironmentProblem(CocflowError):
    """sops or git missing, not a case repository, unsafe git state."""

    exit_code = 4
