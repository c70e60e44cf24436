"""`due` says how overdue a case is and flags cases stuck past a stage deadline."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from cocflow.domain.deadlines import late_cases
from tests.conftest import report_yaml

NOW = datetime(2026, 12, 20, 12, 0, tzinfo=timezone.utc)


def meta(status, received="2026-11-20T10:00:00Z", responded=None):
    return {"id": "2026-0001", "status": status, "received_at": received,
            "respond_by": "2026-12-04T10:00:00Z", "responded_at": responded}


def test_an_acknowledged_case_not_moved_on_is_late_after_acknowledge_days():
    (late,) = late_cases([meta("acknowledged", responded="2026-12-01T10:00:00Z")], NOW, 7, 60)
    assert (late.stage, late.deadline, late.days_overdue) == ("acknowledge",
                                                              "2026-12-08T10:00:00Z", 12)
    assert late_cases([meta("acknowledged", responded="2026-12-15T10:00:00Z")], NOW, 7, 60) == []


def test_a_case_stuck_in_investigating_is_late_after_decide_days():
    (late,) = late_cases([meta("investigating", responded="2026-11-21T10:00:00Z")], NOW, 7, 20)
    assert late.stage == "decide" and late.deadline == "2026-12-10T10:00:00Z"
    for status in ("decided", "closed", "dismissed", "voided"):
        assert late_cases([meta(status)], NOW, 7, 20) == []


def test_due_lists_days_overdue_and_stuck_cases(repo, run, keys):
    intake = report_yaml().replace("report:", 'received_at: "2026-10-01T10:00:00Z"\nreport:', 1)
    old = {"COCFLOW_NOW": "2026-10-02T10:00:00Z"}
    opened = run("-C", str(repo), "new", "--from", "-", "--json", input=intake,
                 as_member=keys["alice"], env=old)
    assert opened.exit_code == 0, opened.stderr
    second = run("-C", str(repo), "new", "--from", "-", "--json", input=intake,
                 as_member=keys["alice"], env=old)
    stuck_id = json.loads(second.stdout)["id"]
    assert run("-C", str(repo), "move", stuck_id, "acknowledged", "-m", "replied",
               as_member=keys["alice"], env=old).exit_code == 0
    now = {"COCFLOW_NOW": "2026-10-25T10:00:00Z"}
    text = run("-C", str(repo), "due", env=now)
    assert "OVERDUE by 10 day(s)" in text.stdout
    assert "acknowledged but not investigated or dismissed" in text.stdout
    items = json.loads(run("-C", str(repo), "due", "--json", env=now).stdout)
    late = [i for i in items if i.get("stage") == "acknowledge"]
    assert [i["id"] for i in late] == [stuck_id] and late[0]["days_overdue"] == 16


def test_stage_deadlines_are_settings(repo, run, keys):
    config = repo / "cocflow.yaml"
    assert "acknowledge_days: 7" in config.read_text()
    config.write_text(config.read_text() + "decide_days: 0\n")
    result = run("-C", str(repo), "due")
    assert result.exit_code != 0 and "decide_days" in result.stderr
