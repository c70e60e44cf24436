"""The web intake's page and receiver: `cocflow intake form` and `cocflow intake serve`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cocflow.adapters.inbox_client import TOKEN_VARIABLE
from cocflow.adapters.inbox_folder import InboxFolder
from cocflow.adapters.intake_site import asset, read_site, write_site
from cocflow.domain import intake
from cocflow.domain.transparency import CATEGORIES
from cocflow.errors import InvalidInput
from cocflow.operations.workspace import Workspace

MIN_TOKEN_LENGTH = 24


def build_site(ws: Workspace) -> dict[str, bytes]:
    """The form and status page, holding the intake readers' and escrow's public keys."""
    config = intake.form_config(ws.roster, ws.triage_readers)
    script, style = asset("intake.js"), asset("intake.css")
    pages = {name: intake.render_page(asset(name).decode("utf-8"), config, CATEGORIES,
                                      intake.sri(script), intake.sri(style)).encode("utf-8")
             for name in ("index.html", "status.html")}
    return {**pages, "intake.js": script, "intake.css": style}


def write_form(ws: Workspace, out: Path) -> list[Path]:
    return write_site(out, build_site(ws))


def receiver(ws_or_site: Workspace | Path, inbox: Path, token_file: Path | None = None,
             rate: int = 5) -> Any:
    """The receiver, ready to run: the site built from the repository, or one `intake form`
    wrote; the team's token from --token-file or COCFLOW_INBOX_TOKEN."""
    from cocflow.adapters.intake_server import Limits, create_app

    token = (token_file.read_text(encoding="utf-8") if token_file else
             os.environ.get(TOKEN_VARIABLE, "")).strip()
    if len(token) < MIN_TOKEN_LENGTH:
        raise InvalidInput(f"the receiver needs a team token of at least {MIN_TOKEN_LENGTH} "
                           f"characters in {TOKEN_VARIABLE} or --token-file (e.g. "
                           "`openssl rand -hex 32`)")
    site = read_site(ws_or_site) if isinstance(ws_or_site, Path) else build_site(ws_or_site)
    limits = Limits(submissions_per_window=rate, lookups_per_window=max(60, rate * 12))
    return create_app(site, InboxFolder(inbox), token, limits)


def serve(app: Any, host: str, port: int) -> None:
    """Run the receiver until interrupted."""
    from cocflow.adapters.intake_server import serve as run

    run(app, host, port)
