"""The history rules on plain values: one case, two versions, findings with stable codes."""

from __future__ import annotations

from cocflow.domain.history import (
    CaseVersion,
    case_findings,
    evidence_findings,
    merged_parent,
    settings_findings,
)
from cocflow.domain.layout import allowed, settings_weak, tree_findings

PATH = "cases/2026-0001.yaml"


def meta(**changes: object) -> dict:
    base = {"format": 2, "id": "2026-0001", "revision": 3, "status": "investigating",
            "received_at": "2026-11-20T10:00:00Z", "respond_by": "2026-12-04T10:00:00Z",
            "recused": ["bob"], "recused_keys": ["fp-bob"]}
    return {**base, **changes}


def version(blob: str, mac: str = "mac-1", earlier: frozenset[str] = frozenset(),
            **changes: object) -> CaseVersion:
    return CaseVersion(PATH, blob, meta(**changes), 14, earlier, mac)


def codes(old: CaseVersion | None, new: CaseVersion | None) -> list[str]:
    return [p.code for p in case_findings(old, new)]


def test_a_write_adds_one_to_the_revision_and_is_clean():
    assert codes(version("a"), version("b", mac="mac-2", revision=4)) == []


def test_the_same_blob_is_no_write():
    assert codes(version("a"), version("a")) == []


def test_an_older_version_pushed_again_is_a_rollback():
    old = version("c", mac="mac-3", earlier=frozenset({"a", "b", "c"}))
    new = version("b", mac="mac-2", earlier=frozenset({"a", "b", "c"}), revision=2,
                  recused=[])
    assert set(codes(old, new)) == {"history-rollback", "history-revision",
                                    "history-recusal-dropped"}


def test_a_revision_that_skips_or_stands_still_is_named():
    assert codes(version("a"), version("b", mac="m", revision=5)) == ["history-revision"]
    assert codes(version("a"), version("b", mac="m", revision=3)) == ["history-revision"]


def test_fixed_fields_never_change():
    for field, value in (("respond_by", "2027-12-04T10:00:00Z"),
                         ("received_at", "2025-11-20T10:00:00Z"), ("id", "2026-0002")):
        found = codes(version("a"), version("b", mac="m", revision=4, **{field: value}))
        assert found == ["history-fixed-field"], field


def test_a_plaintext_edit_keeps_the_mac():
    assert codes(version("a"), version("b", revision=4, status="dismissed")) == [
        "history-meta-edited"]


def test_recused_keys_never_leave_meta():
    found = codes(version("a"), version("b", mac="m", revision=4, recused_keys=[]))
    assert found == ["history-recusal-dropped"]


def test_a_deleted_case_is_named_and_an_absent_one_is_not():
    assert codes(version("a"), None) == ["history-deleted"]
    assert codes(None, None) == []


def test_a_new_case_promises_received_at_plus_response_days():
    assert codes(None, version("a", revision=1)) == []
    late = version("a", revision=1, respond_by="2027-01-01T10:00:00Z")
    assert codes(None, late) == ["history-deadline"]


def test_a_format_1_version_counts_as_revision_0():
    legacy = CaseVersion(PATH, "a", {"schema": 1, **{k: v for k, v in meta().items()
                                                     if k not in ("format", "revision",
                                                                  "recused_keys")}},
                         14, frozenset(), "m0")
    assert codes(legacy, version("b", mac="m1", revision=1)) == []
    assert codes(legacy, version("b", mac="m1", revision=2)) == ["history-revision"]


def test_a_merge_is_compared_with_the_higher_side_and_every_recusal():
    ours = version("a", mac="m1", revision=4, recused=["bob"])
    theirs = version("b", mac="m2", revision=6, recused=["carol"], recused_keys=["fp-carol"])
    merged = merged_parent([ours, theirs])
    good = version("c", mac="m3", revision=7, recused=["bob", "carol"],
                   recused_keys=["fp-bob", "fp-carol"])
    assert codes(merged, good) == []
    lost = version("c", mac="m3", revision=7, recused=["bob"], recused_keys=["fp-bob"])
    assert codes(merged, lost) == ["history-recusal-dropped", "history-recusal-dropped"]


def test_unreadable_meta_is_left_to_the_file_check():
    broken = CaseVersion(PATH, "b", None)
    assert codes(version("a"), broken) == []


def test_evidence_changes_only_with_its_case():
    paths = ["cases/2026-0001/evidence-001.sops.json", "cases/2026-0002/evidence-001.sops.json"]
    found = evidence_findings(paths, {"cases/2026-0001.yaml"})
    assert [(p.file, p.code) for p in found] == [(paths[1], "history-evidence")]


def test_settings_changes_are_named_without_values_of_cases():
    found = settings_findings({"response_days": 14, "warn_days": 3},
                              {"response_days": 30, "warn_days": 3, "allow": ["docs/"]})
    assert [p.message for p in found] == ["response_days changed from 14 to 30",
                                          "allow changed from unset to a list of 1"]


def test_weak_settings_and_broad_allow_patterns_are_findings():
    assert [p.code for p in settings_weak(2, [])] == ["setting-weak"]
    assert settings_weak(3, ["docs/", "Makefile"]) == []
    assert [p.code for p in settings_weak(3, ["*"])] == ["setting-weak"]
    assert [p.code for p in settings_weak(3, ["*.yaml"])] == ["setting-weak"]


def test_the_allow_list_takes_folders_and_globs():
    assert allowed("docs/a.md", ["docs/"]) and not allowed("docsx/a.md", ["docs/"])
    assert allowed(".github/workflows/cases.yml", [".github/"])
    found = tree_findings(["cases/2026-0001.yaml", "team.yaml", "report.yaml", "a/b.eml",
                           "README.md", ".gitignore"], [])
    assert [p.file for p in found] == ["report.yaml", "a/b.eml"]
