"""`search` and the related cases of `show`: real cases, real keys, decrypted in-process."""

from __future__ import annotations

import json
from pathlib import Path

from cocflow.domain.search import fold, matches, people_of
from tests.conftest import SENTINEL, assert_no_leak, snapshot


def search(run, repo: Path, key, *args: str):  # type: ignore[no-untyped-def]
    result = run("-C", str(repo), "search", *args, "--json", as_member=key)
    return result, json.loads(result.stdout) if result.stdout else None


def test_folding_ignores_case_accents_and_spacing():
    assert fold("  ZOË   Ångström\tO'Brien ") == "zoe angstrom o'brien"
    assert fold("José García") == fold("jose garcia") == "jose garcia"
    assert fold("Straße") == "strasse"
    assert fold("ﬁle") == "file"  # NFKD: compatibility ligatures


def test_matches_name_the_field_and_an_excerpt_of_the_original_text():
    document = {"report": {"title": "t", "description": "Then Zoë Åberg said no.",
                           "reporter": {"name": "R"}, "reported": [{"name": "Zoë Åberg"}],
                           "witnesses": [{"contact": "w@example.org"}]},
                "timeline": [{"note": "met zoe aberg"}, {"note": None}]}
    found = dict(matches(document, "zoe aberg"))
    assert list(found) == ["reported.name", "description", "timeline.note"]
    assert found["description"] == "Then Zoë Åberg said no."
    assert matches(document, "W@EXAMPLE.ORG") == [("witnesses.contact", "w@example.org")]
    assert matches(document, "   ") == [] and matches(document, "nobody") == []
    assert people_of(document) == {"zoe aberg"}


def test_search_finds_cases_by_person_contact_and_phrase_without_printing_them(
        repo, run, keys, open_case):
    first = open_case(reported=[{"name": "José García", "contact": "jg@example.org",
                                 "team_handle": None}])
    second = open_case(witnesses=[{"name": "Jose GARCIA", "contact": None}])
    other = open_case()
    before = snapshot(repo)
    result, found = search(run, repo, keys["alice"], "jose garcia")
    assert result.exit_code == 0, result.stderr
    assert [hit["id"] for hit in found["matches"]] == [first, second]
    assert found["matches"][0]["fields"] == ["reported.name"]
    assert found["matches"][1]["fields"] == ["witnesses.name"]
    assert found["searched"] == 3 and other not in result.stdout
    assert {"status", "received_at", "respond_by", "closed_at"} <= set(found["matches"][0])
    assert "García" not in result.stdout and "excerpts" not in found["matches"][0]
    _, by_phrase = search(run, repo, keys["alice"], "KEPT happening")
    assert len(by_phrase["matches"]) == 3
    assert by_phrase["matches"][0]["fields"] == ["description"]
    text = run("-C", str(repo), "search", "jg@example.org", as_member=keys["alice"])
    assert first in text.stdout and "jg@example.org" not in text.stdout
    assert "1 of 3 readable case(s) match" in text.stdout
    assert snapshot(repo) == before  # nothing written, nothing cached
    assert_no_leak(repo, SENTINEL, result.stdout, text.stdout, text.stderr)


def test_show_prints_the_matched_text_only_when_asked(repo, run, keys, open_case):
    case_id = open_case(description=f"Zoë said {SENTINEL} twice")
    _, found = search(run, repo, keys["alice"], "zoe said", "--show")
    assert found["matches"][0]["id"] == case_id
    assert found["matches"][0]["excerpts"] == {"description": f"Zoë said {SENTINEL} twice"}
    text = run("-C", str(repo), "search", "zoe said", "--show", as_member=keys["alice"])
    assert f"{case_id} description: Zoë said {SENTINEL} twice" in text.stdout


def test_cases_the_key_cannot_read_are_counted_not_searched(repo, run, keys, open_case):
    hidden = open_case("--recuse", "bob")
    visible = open_case()
    result, found = search(run, repo, keys["bob"], "someone")
    assert result.exit_code == 0, result.stderr
    assert [hit["id"] for hit in found["matches"]] == [visible]
    assert found["not_readable"] == [hidden] and found["searched"] == 1


def test_a_tampered_case_is_reported_and_exits_1(repo, run, keys, open_case):
    case_id = open_case()
    open_case()
    path = repo / "cases" / f"{case_id}.yaml"
    text = path.read_text()
    path.write_text(text.replace("status: received", "status: closed", 1))
    result, found = search(run, repo, keys["alice"], "someone")
    assert result.exit_code == 1
    assert found["failed"][0]["case"] == case_id and found["failed"][0]["code"] == "integrity"
    assert len(found["matches"]) == 1 and SENTINEL not in result.stdout + result.stderr


def test_an_empty_query_is_bad_input(repo, run, keys, open_case):
    result = run("-C", str(repo), "search", "  ", as_member=keys["alice"])
    assert result.exit_code == 2 and result.stderr.startswith("Error:")


def test_show_lists_other_cases_naming_the_same_reported_person(repo, run, keys, open_case):
    person = [{"name": "Zoë Åberg", "contact": None, "team_handle": None}]
    shown = open_case(reported=person)
    again = open_case(reported=[{"name": "ZOE ABERG", "contact": None, "team_handle": None}])
    as_witness = open_case(witnesses=[{"name": "zoë åberg", "contact": None}])
    unrelated = open_case()
    result = run("-C", str(repo), "show", shown, as_member=keys["alice"])
    assert result.exit_code == 0, result.stderr
    related = result.stdout.split("Related cases")[1]
    assert again in related and as_witness in related and unrelated not in related
    assert "witnesses.name" in related
    plain = run("-C", str(repo), "show", shown, "--json", as_member=keys["alice"])
    assert json.loads(plain.stdout)["meta"]["id"] == shown  # the case document alone
    both = json.loads(run("-C", str(repo), "show", shown, "--json", "--related",
                          as_member=keys["alice"]).stdout)
    assert both["case"]["meta"]["id"] == shown
    assert [hit["id"] for hit in both["related"]] == [again, as_witness]
    quiet = run("-C", str(repo), "show", shown, "--no-related", as_member=keys["alice"])
    assert "Related cases" not in quiet.stdout
