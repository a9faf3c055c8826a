"""The app's own pages are valid HTML, as the W3C Nu HTML checker (vnu) reads them.

The checker is a Java program that `make test` installs with npm (`vnu-jar`); a missing checker
or Java fails this test rather than skipping it, as a missing browser fails the browser tests.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client, override_settings

from opsmodel.front.starters import install

VNU_JAR = Path(
    os.environ.get(
        "VNU_JAR",
        Path(__file__).resolve().parent.parent
        / ".venv/vnu/node_modules/vnu-jar/build/dist/vnu.jar",
    )
)


def pages_of(person: str) -> list[str]:
    from opsmodel.runs.models import Run
    from sops.models import SOP
    from systems.models import System

    sop = SOP.objects.select_related("process__system").get(title="Recording a video")
    process, system = sop.process, sop.process.system
    run = Run.objects.filter(process=process).first()
    urls = [
        "/",
        system.get_absolute_url(),
        process.get_absolute_url(),
        sop.get_absolute_url(),
        f"/sops/{sop.pk}/history/",
        "/my-work/",
        "/runs/",
        run.get_absolute_url(),
        "/metrics/",
        "/metrics/goals/",
        "/metrics/?page=9",  # a page that is not there, said so above the first
        "/people/",
        f"/people/{person}/",
        "/health/",
        "/search/?q=video",
        "/search/?q=the",  # more than ten of some kinds: their "More" links
        "/search/?q=the&kind=sops",
        "/inbox/",
        "/sops/suggestions/",
        "/software/",
        sop.software.first().get_absolute_url(),
        "/no-such-page/",
        "/api/docs/",
        "/tokens/",
        # A starter template's system and SOP, which say where they came from.
        *[
            marked.get_absolute_url()
            for marked in [
                SOP.objects.filter(source__startswith="template:").first(),
                System.objects.filter(source__startswith="template:").first(),
            ]
        ],
    ]
    if person == "founder":
        urls += [
            "/software/new/",
            f"{sop.software.first().get_absolute_url()}edit/",
            f"/systems/{system.pk}/edit/",
            f"/processes/{process.pk}/edit/",
            f"/sops/{sop.pk}/edit/",
            f"/sops/new/?process={process.pk}",
            f"/runs/new/?process={process.pk}",
            "/people/needs-an-owner/",
            "/webhooks/",
            "/map/import/markdown/",
            f"/starters/?parent={system.pk}",
        ]
    else:
        urls += [f"/sops/{sop.pk}/suggest/"]
    return urls


def markdown_import_pages(client) -> list:
    """An upload's preview, and the report of its import."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("Ops/Close the month.md", "# Close the month\n\n1. Reconcile\n2. Report\n")
        archive.writestr("Ops/Invoice a client.md", "---\nowner: Maya Ortiz\n---\nSend it.\n")
        archive.writestr("Ops/data.bin", b"\x00\x01")
    data.seek(0)
    data.name = "ops.zip"
    preview = client.post("/map/import/markdown/", {"file": data})["Location"]
    pages = [(preview, client.get(preview))]
    done = client.post(preview, {"import": "1"})["Location"]
    return [*pages, (done, client.get(done))]


@pytest.mark.django_db
def test_the_nu_html_checker_finds_no_errors_on_the_apps_pages(tmp_path):
    java = shutil.which("java")
    assert java, "The Nu HTML checker runs on Java: apt-get install -y default-jre-headless"
    assert VNU_JAR.exists(), f"The Nu HTML checker is needed at {VNU_JAR}: run `make test`"
    call_command("loaddemo", stdout=io.StringIO())
    founder = get_user_model().objects.get(username="founder")
    install("month-end-finance", None, founder, founder)
    saved: dict[str, str] = {}
    anonymous = Client()
    for url in ["/accounts/login/", "/accounts/password_reset/"]:
        response = anonymous.get(url)
        if response.status_code == 200:
            path = tmp_path / f"anonymous-{len(saved)}.html"
            path.write_bytes(response.content)
            saved[str(path)] = f"anonymous {url}"
    for person in ["founder", "member"]:
        client = Client()
        client.force_login(get_user_model().objects.get(username=person))
        for url in pages_of(person):
            response = client.get(url)
            assert response.status_code in (200, 404), (person, url, response.status_code)
            path = tmp_path / f"{person}-{len(saved)}.html"
            path.write_bytes(response.content)
            saved[str(path)] = f"{person} {url}"
        with override_settings(MAP_FOLD_OVER=2):  # a large map opens folded
            path = tmp_path / f"{person}-{len(saved)}.html"
            path.write_bytes(client.get("/").content)
            saved[str(path)] = f"{person} / (folded)"
        if person == "founder":  # a Markdown import's preview and report need an upload
            for url, response in markdown_import_pages(client):
                path = tmp_path / f"{person}-{len(saved)}.html"
                path.write_bytes(response.content)
                saved[str(path)] = f"{person} {url}"
    result = subprocess.run(
        [java, "-jar", str(VNU_JAR), "--errors-only", "--format", "json", *saved],
        capture_output=True,
        text=True,
        timeout=300,
    )
    messages = json.loads(result.stderr or result.stdout)["messages"]
    errors = [
        f"{saved.get(m.get('url', '').removeprefix('file:'), m.get('url'))}: "
        f"{m.get('message')} — {m.get('extract', '').strip()[:120]}"
        for m in messages
        if m.get("type") == "error"
    ]
    assert errors == []
    assert len(saved) > 40  # every page above was checked, as founder and as team member
