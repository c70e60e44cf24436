"""The report defaults to the last full year and reads well, also to a screen reader."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from cocflow.cli.report_render import label, render
from cocflow.domain.transparency import build_report, facts_from_meta

NOW = datetime(2027, 1, 10, tzinfo=timezone.utc)


def sample(community=None):
    metas = [{"id": f"2026-000{i}", "status": "closed", "received_at": "2026-03-01T10:00:00Z",
              "respond_by": "2026-03-15T10:00:00Z", "responded_at": "2026-03-02T10:00:00Z",
              "closed_at": "2026-04-01T10:00:00Z", "recused": []} for i in range(1, 6)]
    report = build_report(2026, [facts_from_meta(m) for m in metas], NOW, 3, 14)
    return {**report, "community": community}


def test_labels_are_readable():
    assert label("temporary-ban") == "Temporary ban"
    assert label("misgendering-deadnaming") == "Misgendering or deadnaming"
    assert label("no-action") == "No action"


def test_the_title_names_the_community():
    page = render(sample("PyData <Berlin>"), "html")
    assert "<h1>Code of Conduct transparency report 2026: PyData &lt;Berlin&gt;</h1>" in page
    assert "<title>Code of Conduct transparency report 2026: PyData &lt;Berlin&gt;</title>" in page
    markdown = render(sample("Py*Data*"), "markdown")
    assert markdown.startswith("# Code of Conduct transparency report 2026: Py\\*Data\\*")


def test_html_values_are_in_a_table_and_the_chart_is_hidden_from_screen_readers():
    page = render(sample(), "html")
    assert re.search(r'<svg aria-hidden="true"', page) and 'role="img"' not in page
    assert '<caption>Cases by status</caption>' in page
    assert '<th scope="row">Closed</th><td>5</td>' in page


def test_report_defaults_to_the_last_full_year(repo, run, keys):
    config = repo / "cocflow.yaml"
    config.write_text(config.read_text() + "community: Example Conf\n")
    result = run("-C", str(repo), "report", "--json", as_member=keys["alice"],
                 env={"COCFLOW_NOW": "2027-02-01T00:00:00Z"})
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["year"] == 2026 and document["community"] == "Example Conf"
