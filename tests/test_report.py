"""The transparency report: counts, suppression of small counts, unreadable cases, formats."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cocflow.cli.report_render import render
from cocflow.domain.transparency import (
    CaseFacts,
    _Suppressor,
    build_report,
    facts_from_meta,
    percentile,
)
from tests.conftest import SENTINEL, Key, Result, report_yaml
from tests.shared_repo import cli, module_repo

NOW = datetime(2027, 1, 10, tzinfo=timezone.utc)
FORBIDDEN = (SENTINEL, "2026-0", "2025-0", "alice", "bob", "carol", "r@example.org",
             "Reporter", "Someone", "safety")


# --- pure aggregation -------------------------------------------------------------------------

def meta(status: str = "received", received: str = "2026-03-01T10:00:00Z",
         responded: str | None = None, respond_by: str = "2026-03-15T10:00:00Z") -> dict:
    return {"id": "2026-0001", "status": status, "received_at": received, "respond_by": respond_by,
            "responded_at": responded, "closed_at": None, "recused": []}


def readable(status: str = "received", categories: tuple[str, ...] = ("intimidation",),
             space: str | None = "online", outcomes: tuple[str, ...] = (),
             reason: str | None = None, **times: str) -> CaseFacts:
    return CaseFacts(meta(status, **times), True, categories, space, outcomes, reason)


def test_counts_every_breakdown_without_suppression_at_min_count_1():
    facts = [readable(), readable("closed", ("stalking", "intimidation"), "event", ("warning",)),
             readable("dismissed", space=None, reason="tone"), facts_from_meta(meta("decided"))]
    report = build_report(2026, facts, NOW, 1, 14)
    assert report["total"] == 4
    assert report["by_status"] == {"received": 1, "acknowledged": 0, "investigating": 0,
                                   "decided": 1, "closed": 1, "dismissed": 1}
    assert report["by_category"]["intimidation"] == 3
    assert report["by_category"]["stalking"] == 1
    assert report["by_category"]["not_visible"] == 1
    assert report["by_space"] == {"online": 1, "event": 1, "social": 0, "outside": 0,
                                  "not_recorded": 1, "not_visible": 1}
    assert report["by_outcome"]["warning"] == 1 and report["by_outcome"]["not_visible"] == 1
    assert report["dismissals_by_reason"]["tone"] == 1
    assert report["not_visible"] == {"cases": 1, "categories": 1, "outcomes": 1,
                                     "dismissal_reasons": 0}
    assert report["suppressed"] == [] and report["withheld"] == []


def test_small_counts_are_null_and_listed_zero_is_published():
    facts = [readable(categories=("stalking",))] + [readable() for _ in range(4)]
    report = build_report(2026, facts, NOW, 3, 14)
    assert report["by_category"]["stalking"] is None
    assert "by_category.stalking" in report["suppressed"]
    assert report["by_category"]["intimidation"] == 4
    assert report["by_category"]["doxxing"] == 0


def test_a_small_total_is_suppressed_too():
    report = build_report(2026, [readable(), readable()], NOW, 3, 14)
    assert report["total"] is None and "total" in report["suppressed"]
    assert "fewer than 3" in render(report, "markdown")


def test_a_lone_small_cell_in_a_published_total_is_not_left_to_subtraction():
    facts = [readable("received") for _ in range(5)] + [readable("closed")]
    report = build_report(2026, facts, NOW, 3, 14)
    assert report["by_status"]["closed"] is None
    assert report["by_status"]["received"] is None and "by_status.received" in report["withheld"]
    assert "withheld" in render(report, "markdown")


def consistent_values(published: dict, suppressed: set, withheld: set, total: int, n: int):
    """Every assignment of hidden cells a reader could not rule out."""
    hidden = [k for k, v in published.items() if v is None]
    left = total - sum(v for v in published.values() if v is not None)
    ranges = [range(1, n) if k in suppressed else range(n, total + 1) for k in hidden]
    for values in itertools.product(*ranges):
        if sum(values) == left:
            yield dict(zip(hidden, values, strict=True))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 7), min_size=2, max_size=5), st.integers(2, 4))
def test_suppressed_cells_cannot_be_worked_out_from_the_total(cells, n):
    counts = {f"c{i}": v for i, v in enumerate(cells)}
    total = sum(cells)
    hide = _Suppressor(n)
    published = hide.breakdown("b", counts, total)
    suppressed = {p[2:] for p in hide.suppressed}
    withheld = {p[2:] for p in hide.withheld}
    if not suppressed or all(published[k] is None for k, v in counts.items() if v):
        return  # nothing small, or everything hidden: the total is all a reader gets
    options = list(consistent_values(published, suppressed, withheld, total, n))
    for key in suppressed:
        assert len({option[key] for option in options}) > 1, (counts, n, published)


def test_median_and_90th_percentile_of_days_to_first_response():
    days = [1, 2, 3, 4, 10]
    facts = [readable("acknowledged", received="2026-03-01T00:00:00Z",
                      responded=f"2026-03-{1 + d:02d}T00:00:00Z") for d in days]
    response = build_report(2026, facts, NOW, 3, 14)["response"]
    assert response["median_days"] == 3.0 and response["p90_days"] == 10.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 0.9) == 9.0


def test_share_within_the_promise_skips_cases_still_within_it():
    answered_late = readable("acknowledged", responded="2026-03-20T10:00:00Z")
    answered = readable("acknowledged", responded="2026-03-02T10:00:00Z")
    overdue = readable("received")
    waiting = readable("received", received="2027-01-05T00:00:00Z",
                       respond_by="2027-01-19T00:00:00Z")
    report = build_report(2026, [answered, answered, answered_late, overdue, waiting], NOW, 3,
                          14)
    assert report["response"]["share_within_promise"] == 0.5


def test_response_statistics_on_too_few_cases_are_not_published():
    facts = [readable("acknowledged", responded="2026-03-02T10:00:00Z")] * 2
    report = build_report(2026, facts, NOW, 3, 14)
    assert report["response"]["median_days"] is None
    assert "response.median_days" in report["suppressed"]


def test_an_empty_year_is_an_honest_empty_report():
    report = build_report(2031, [], NOW, 3, 14)
    assert report["total"] == 0 and report["suppressed"] == []
    assert "No reports were received in 2031." in render(report, "markdown")
    assert "No reports were received in 2031." in render(report, "html")


def test_html_is_self_contained():
    facts = [readable() for _ in range(4)] + [readable("closed", outcomes=("warning",))]
    page = render(build_report(2026, facts, NOW, 3, 14), "html")
    assert page.startswith("<!DOCTYPE html>") and "<svg" in page
    assert "<script" not in page.lower() and "http" not in page.lower()
    assert "src=" not in page and "@import" not in page and "url(" not in page


# --- end to end: a known set of cases built through the CLI ----------------------------------

@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory):
    """Nine cases of 2026 (one hidden from carol) and one of 2025, built once for the module."""
    with module_repo(tmp_path_factory.mktemp("report")) as (root, keys):
        build_cases(root, keys["alice"])
        yield root, keys


def build_cases(root: Path, alice: Key) -> None:
    def new(at: str, *extra: str, **changes: object) -> str:
        result = cli("-C", str(root), "new", "--from", "-", "--json", *extra, key=alice, now=at,
                     input=report_yaml(occurred_at=None, **changes))
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)["id"]

    def move(case_id: str, at: str, *args: str) -> None:
        result = cli("-C", str(root), "move", case_id, *args, key=alice, now=at)
        assert result.exit_code == 0, result.stderr

    for day in (1, 2, 3):  # received, never answered: past the promise by now
        new(f"2026-02-0{day}T10:00:00Z")
    for day, waited in ((1, 1), (2, 2), (3, 4)):
        case_id = new(f"2026-03-0{day}T10:00:00Z", categories=["intimidation"], space="event")
        move(case_id, f"2026-03-{day + waited:02d}T10:00:00Z", "acknowledged")
    late = new("2026-04-01T10:00:00Z", categories=["other"])
    move(late, "2026-04-21T10:00:00Z", "dismissed", "--reason", "tone", "-m", SENTINEL)
    done = new("2026-05-01T10:00:00Z", categories=["intimidation"], space="social")
    move(done, "2026-05-02T10:00:00Z", "acknowledged")
    move(done, "2026-05-03T10:00:00Z", "investigating")
    move(done, "2026-05-04T10:00:00Z", "decided", "--outcome", "warning", "--rationale",
         SENTINEL, "--skip-contact", "safety")
    move(done, "2026-05-05T10:00:00Z", "closed")
    new("2026-06-01T10:00:00Z", "--recuse", "carol")
    new("2025-12-30T10:00:00Z", categories=["doxxing"])


def report(dataset, *args: str, member: str = "alice") -> Result:
    root, keys = dataset
    return cli("-C", str(root), "report", "--year", "2026", *args, key=keys[member],
               now="2027-01-10T00:00:00Z")


def test_report_counts_the_cases_received_in_the_year(dataset):
    result = report(dataset, "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["year"] == 2026 and data["total"] == 9
    assert data["by_category"]["continued-contact"] == 4
    assert data["by_category"]["intimidation"] == 4
    assert data["by_category"]["doxxing"] == 0  # the 2025 case
    assert data["by_status"]["investigating"] == 0


def test_report_suppresses_small_counts(dataset):
    data = json.loads(report(dataset, "--json").stdout)
    assert data["by_category"]["other"] is None and "by_category.other" in data["suppressed"]
    assert data["by_status"]["closed"] is None and data["by_status"]["dismissed"] is None
    assert data["by_outcome"]["warning"] is None
    assert data["dismissals_by_reason"]["tone"] is None
    assert "by_status.received" in data["withheld"]


def test_report_response_times_and_promise(dataset):
    response = json.loads(report(dataset, "--json").stdout)["response"]
    assert response["median_days"] == 2.0 and response["p90_days"] == 20.0
    assert response["share_within_promise"] == round(4 / 9, 3)
    assert response["promise_days"] == 14


def test_cases_a_member_cannot_decrypt_still_count_from_meta(dataset):
    alice = json.loads(report(dataset, "--json").stdout)
    carol = json.loads(report(dataset, "--json", member="carol").stdout)
    assert carol["total"] == alice["total"] == 9
    assert carol["by_status"] == alice["by_status"]
    assert carol["by_category"]["continued-contact"] == 3
    assert carol["not_visible"]["cases"] is None and "not_visible.cases" in carol["suppressed"]
    assert alice["not_visible"]["cases"] == 0
    assert "Could not be decrypted" in report(dataset, member="carol").stdout


@pytest.mark.parametrize("fmt", ["markdown", "json", "html"])
def test_no_name_contact_free_text_or_case_id_in_any_format(dataset, fmt):
    for member in ("alice", "carol"):
        output = report(dataset, "--format", fmt, member=member).stdout
        for forbidden in FORBIDDEN:
            assert forbidden not in output, (fmt, forbidden)


def test_markdown_shows_fewer_than_n(dataset):
    text = report(dataset).stdout
    assert text.startswith("# Code of Conduct transparency report 2026")
    assert "| Other | fewer than 3 |" in text and "| Intimidation | 4 |" in text


def test_html_report_is_written_to_out_and_has_no_script_or_link(dataset, tmp_path):
    out = tmp_path / "report.html"
    result = report(dataset, "--format", "html", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    page = out.read_text()
    assert "<svg" in page and "<script" not in page.lower() and "http" not in page.lower()
    assert "fewer than 3" in page


def test_a_year_without_cases_is_an_empty_report_and_exit_0(dataset):
    root, keys = dataset
    result = cli("-C", str(root), "report", "--year", "2030", "--json", key=keys["alice"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["total"] == 0 and data["year"] == 2030
    assert "No reports were received in 2030" in cli("-C", str(root), "report", "--year", "2030",
                                                     key=keys["alice"]).stdout


def test_a_tampered_case_stops_the_report(repo, open_case, run, keys):
    case_id = open_case()
    path = repo / "cases" / f"{case_id}.yaml"
    path.write_text(path.read_text().replace("status: received", "status: closed"))
    result = run("-C", str(repo), "report", "--year", case_id[:4], as_member=keys["alice"])
    assert result.exit_code == 1 and "integrity" in result.stderr


def test_json_flag_and_html_format_conflict(dataset):
    result = report(dataset, "--json", "--format", "html")
    assert result.exit_code == 2 and "cannot be used together" in result.stderr
