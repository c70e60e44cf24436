"""The format-2 codec (domain/sealed.py): buckets, sealing, format detection, format 1."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cocflow.domain import sealed
from cocflow.errors import InvalidInput, Unreadable

META = {"format": 2, "id": "2026-0001", "revision": 4, "status": "received",
        "received_at": "2026-11-20T10:00:00Z", "respond_by": "2026-12-04T10:00:00Z",
        "responded_at": None, "closed_at": None, "recused": []}


def document(**body: object) -> dict:
    return {"meta": dict(META), "report": {"title": "t"}, **body}


@pytest.mark.parametrize(("size", "expected"), [
    (0, 8192), (8192, 8192), (8193, 12288), (12288, 12288), (12289, 16384), (16385, 24576),
    (24577, 32768), (100_000, 131072), (16 * 1024 * 1024, 16 * 1024 * 1024),
])
def test_buckets_start_at_8_kib_then_grow_by_half_or_a_third(size, expected):
    assert sealed.bucket(size) == expected and sealed.is_bucket(expected)


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=64 * 1024 * 1024))
def test_a_bucket_holds_its_size_with_at_most_half_of_padding(size):
    padded = sealed.bucket(size)
    assert padded >= size and sealed.is_bucket(padded)
    assert padded <= max(sealed.MIN_BUCKET, size * 1.5)


def test_sizes_between_buckets_are_no_buckets():
    assert not any(sealed.is_bucket(n) for n in (0, 1, 8191, 8193, 10000, 12287, 20000))


def test_seal_keeps_meta_and_pads_the_rest_into_one_string():
    sealed_document = sealed.seal(document(timeline=[]))
    assert list(sealed_document) == ["meta", "body"]
    assert sealed_document["meta"] == META
    body = sealed_document["body"].encode("utf-8")
    assert len(body) == 8192 and body.rstrip(b" ") == b'{"report":{"title":"t"},"timeline":[]}'


def test_unseal_gives_back_the_same_document_in_the_same_order():
    original = document(timeline=[{"note": "1e3 ☃ \U0001f600 \t\n"}], decisions=[])
    assert sealed.unseal(json.loads(json.dumps(sealed.seal(original)))) == original
    assert list(sealed.unseal(sealed.seal(original))) == list(original)


def test_text_utf_8_cannot_carry_is_refused_naming_the_path_not_the_value():
    with pytest.raises(InvalidInput, match=r"report\.title holds text that is not valid") as err:
        sealed.seal({"meta": META, "report": {"title": "SECRET \udcff"}})
    assert "SECRET" not in str(err.value)


def test_a_case_over_the_limit_is_refused(monkeypatch):
    monkeypatch.setattr(sealed, "MAX_BODY_BYTES", 10_000)
    with pytest.raises(InvalidInput, match="over the limit"):
        sealed.seal(document(description="x" * 10_000))


@pytest.mark.parametrize("decrypted", [
    None, [], {"meta": META}, {"meta": META, "body": 3}, {"meta": META, "body": "{", },
    {"meta": META, "body": "[]"}, {"meta": META, "body": '{"meta": {}}'},
    {"meta": META, "body": "{}", "extra": 1},
])
def test_what_is_not_one_meta_and_one_case_body_is_unreadable(decrypted):
    with pytest.raises(Unreadable):
        sealed.unseal(decrypted)


@pytest.mark.parametrize(("meta", "expected"), [
    ({"format": 2}, 2), ({"schema": 1}, 1), ({"format": 3}, None), ({"format": "2"}, None),
    ({"format": True}, None), ({"schema": 1, "format": 2}, 2), ({}, None), (None, None),
    ({"schema": 2}, None),
])
def test_the_format_is_read_from_meta(meta, expected):
    assert sealed.format_of(meta) == expected


def test_the_next_version_is_format_2_one_revision_later():
    assert sealed.next_version(document())["meta"] == {**META, "revision": 5}
    legacy = {"meta": {"format": 1, "id": "2026-0001", "revision": 0, "status": "received"}}
    assert sealed.next_version(legacy)["meta"] == {
        "format": 2, "id": "2026-0001", "revision": 1, "status": "received"}


def test_a_format_1_case_becomes_the_format_2_model_at_revision_0():
    old = {"meta": {"schema": 1, "id": "2026-0001", "status": "decided", "recused": ["bob"]},
           "report": {"title": "t"}, "timeline": [], "decision": {"outcomes": ["warning"]},
           "dismissal": None}
    upgraded = sealed.upgrade(old)
    assert upgraded["meta"] == {"format": 1, "id": "2026-0001", "revision": 0,
                                "status": "decided", "recused": ["bob"]}
    assert upgraded["decisions"] == [{"outcomes": ["warning"]}] and "decision" not in upgraded
    assert sealed.upgrade({**old, "decision": None})["decisions"] == []


def test_encrypted_size_reads_the_plaintext_length_without_a_key():
    value = "ENC[AES256_GCM,data:AAECAw==,iv:YSgjnd3dZcp1yI4xbqtU45NVUcSdPmj05IpjOPJHsQ8=," \
            "tag:dMxyg5bO0dBWs3gMCHASYA==,type:str]"
    assert sealed.encrypted_size(value) == 4
    assert sealed.encrypted_size("plain") is None and sealed.encrypted_size(3) is None


@pytest.mark.parametrize("data", [b"", b"\x00" * 10, b"cocflow-evidence 2\nnot mine",
                                  bytes(range(256)) * 40])
def test_evidence_round_trips_padded(data):
    plaintext = sealed.seal_evidence(data, 3, "0" * 64)
    assert sealed.is_bucket(len(plaintext))
    assert sealed.open_evidence(plaintext) == data


def test_format_1_evidence_is_the_bytes_themselves():
    assert sealed.open_evidence(b"raw bytes") == b"raw bytes"


@pytest.mark.parametrize("plaintext", [
    sealed.EVIDENCE_MAGIC + b"no header end",
    sealed.EVIDENCE_MAGIC + b'{"size": 99}\nshort',
    sealed.EVIDENCE_MAGIC + b'{"size": "3"}\nabc',
    sealed.EVIDENCE_MAGIC + b"[1]\nabc",
])
def test_a_broken_evidence_header_is_unreadable(plaintext):
    with pytest.raises(Unreadable):
        sealed.open_evidence(plaintext)


def test_the_largest_case_file_is_one_that_readers_and_check_accept():
    from cocflow.adapters.store import CASE_FILE_MAX_BYTES

    base64 = sealed.MAX_BODY_BYTES * 4 // 3
    assert base64 + 64 * 1024 < CASE_FILE_MAX_BYTES  # meta and the sops block fit beside it
