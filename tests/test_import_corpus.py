"""Malformed map documents (tests/import_corpus/) are refused whole, saying where, never a 500.

Each file is small and named for what is wrong with it; `_places.json` says what a problem
must mention for each (where it is, and often what). `_base.json` is the good document they
were all made from, by one change each.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from opsmodel.front.exchange import BadDocument, import_map, read_document
from systems.models import System
from tests.factories import build_map
from tests.fuzzing import database_fingerprint

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).parent / "import_corpus"
PLACES = json.loads((CORPUS / "_places.json").read_text(encoding="utf-8"))
FILES = sorted(p.name for p in CORPUS.glob("*.json") if not p.name.startswith("_"))


def rows() -> dict[str, str]:
    """Every row of every table, as a hash a table: an insert, an update or a delete shows."""
    return database_fingerprint()


def test_the_corpus_is_large_and_every_file_says_where_its_problem_is():
    assert len(FILES) >= 60
    assert sorted(PLACES) == FILES


def test_the_document_the_corpus_was_made_from_imports(founder):
    build_map(2, 2, 2)
    counts = import_map(read_document((CORPUS / "_base.json").read_bytes()), founder)
    assert counts == {"systems": 2, "processes": 2, "sops": 2, "files": 0, "left_out": []}
    assert System.objects.filter(name="Leads", parent__name="Sales").exists()


@pytest.mark.parametrize("name", FILES)
def test_a_malformed_document_is_refused_whole_through_the_upload(name, founder_client):
    build_map(2, 2, 2)  # a map already there, which the document would merge into
    before = rows()
    upload = SimpleUploadedFile(name, (CORPUS / name).read_bytes(), "application/json")
    response = founder_client.post(reverse("front:import_map"), {"file": upload})
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert "Nothing was imported" in page
    assert PLACES[name] in page
    assert rows() == before


@pytest.mark.parametrize("name", FILES)
def test_a_malformed_document_is_refused_whole_by_import_map(name, founder):
    build_map(2, 2, 2)
    before = rows()
    with pytest.raises(BadDocument) as refused:
        import_map(read_document((CORPUS / name).read_bytes()), founder)
    problems = refused.value.problems
    assert any(PLACES[name] in problem for problem in problems), problems
    assert rows() == before


def test_a_file_over_20_mb_is_refused_without_reading_it(founder_client, settings):
    settings.EXPORT_ATTACHMENTS_MAX_BYTES = 0  # a map without files: 20 MB of text at most
    before = rows()
    huge = b'{"format": "opsmodel-map", "version": 1, "people": [' + b" " * (21 * 1024 * 1024)
    upload = SimpleUploadedFile("huge.json", huge + b"]}", "application/json")
    response = founder_client.post(reverse("front:import_map"), {"file": upload})
    assert response.status_code == 200
    assert "the file is larger than 20 MB, more than a map holds" in response.content.decode()
    assert rows() == before


def test_an_upload_without_a_file_asks_for_one(founder_client):
    response = founder_client.post(reverse("front:import_map"), {})
    assert "choose a JSON file exported from Opsmodel" in response.content.decode()
