"""`cocflow intake form`: the static page, with the accepted roster's triage readers."""

from __future__ import annotations

import json
import re

from cocflow.domain.intake import sri
from tests.conftest import git
from tests.intake_receiver import with_triage_readers


def page_config(html: str) -> dict[str, object]:
    found = re.search(r'<script type="application/json" id="intake-config">(.*?)</script>',
                      html, re.S)
    assert found
    return dict(json.loads(found.group(1)))


def test_the_form_holds_the_triage_readers_keys_and_its_bundle_integrity(repo, run, keys,
                                                                         tmp_path):
    with_triage_readers(repo, "[alice, carol]")
    out = tmp_path / "site"
    result = run("-C", str(repo), "intake", "form", "--out", str(out), "--json")
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "index.html", "intake.css", "intake.js", "status.html"]
    html = (out / "index.html").read_text()
    config = page_config(html)
    assert config["readers"] == [{"handle": "alice", "keys": [keys["alice"].public]},
                                 {"handle": "carol", "keys": [keys["carol"].public]}]
    assert keys["bob"].public not in html
    assert f'integrity="{sri((out / "intake.js").read_bytes())}"' in html
    assert 'value="bob"' in html  # every member can be excluded
    assert "http://" not in html and "https://" not in html  # nothing from another origin
    assert page_config((out / "status.html").read_text()) == config


def test_a_member_added_to_team_yaml_but_not_accepted_is_not_a_form_recipient(
        repo, run, keys, tmp_path):
    with_triage_readers(repo, "[alice, bob]")
    assert run("-C", str(repo), "team", "list", as_member=keys["alice"]).exit_code == 0
    team = repo / "team.yaml"
    team.write_text(team.read_text().replace(keys["bob"].public, keys["outsider"].public))
    git(repo, "commit", "-qam", "swap bob's key")
    out = tmp_path / "site"
    result = run("-C", str(repo), "intake", "form", "--out", str(out))
    assert result.exit_code == 2 and "team accept" in result.stderr
    assert not out.exists()
    # once bob is left out of triage, the page is built, without the unaccepted key
    config = repo / "cocflow.yaml"
    config.write_text(config.read_text().replace("[alice, bob]", "[alice, carol]"))
    assert run("-C", str(repo), "intake", "form", "--out", str(out)).exit_code == 0
    assert keys["outsider"].public not in (out / "index.html").read_text()


def test_no_triage_readers_no_form(repo, run, tmp_path):
    result = run("-C", str(repo), "intake", "form", "--out", str(tmp_path / "site"))
    assert result.exit_code == 2 and result.stderr.startswith("Error: ")
    assert "triage_readers" in result.stderr
    assert not (tmp_path / "site").exists()


def test_too_few_triage_readers_for_min_recipients_no_form(repo, run, tmp_path):
    with_triage_readers(repo, "[alice]")
    result = run("-C", str(repo), "intake", "form", "--out", str(tmp_path / "site"))
    assert result.exit_code == 2 and "min_recipients" in result.stderr
    assert not (tmp_path / "site").exists()
