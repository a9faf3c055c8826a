"""Production settings, security headers, CSRF, login throttling and error pages."""

from __future__ import annotations

import datetime
import gzip
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from systems.models import System
from tests.factories import PASSWORD, SystemFactory
from tests.test_access_matrix import objects  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x" * 20 + "a-long-random-production-secret-key-0123456789",
    "ALLOWED_HOSTS": "ops.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://ops.example.com",
    "EMAIL_URL": "smtp://mailer:secret@mail.example.com:587?tls=1",
    "SITE_URL": "https://ops.example.com",
}


def run_django(env: dict, *args: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DEBUG",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "CSRF_TRUSTED_ORIGINS",
            "DATABASE_URL",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
            "EMAIL_URL",
            "SITE_URL",
        }
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_production_settings():
    result = run_django(PRODUCTION, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY must be set"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS must name"),
        ({"DEBUG": "maybe"}, "DEBUG must be true or false"),
        ({"CSRF_TRUSTED_ORIGINS": "ops.example.com"}, "CSRF_TRUSTED_ORIGINS must list origins"),
        ({"DATABASE_URL": "mysql://db/ops"}, "DATABASE_URL must look like"),
        ({"INACTIVITY_TIMEOUT": "soon"}, "INACTIVITY_TIMEOUT must be a whole number"),
        ({"PROXY_COUNT": "-1"}, "PROXY_COUNT must be 0 or more"),
        ({"EMAIL_URL": ""}, "EMAIL_URL must say how email is sent"),
        ({"EMAIL_URL": "mail.example.com"}, "EMAIL_URL must look like smtp://"),
        ({"EMAIL_URL": "smtp://mail.example.com?tls=1&ssl=1"}, "both tls and ssl"),
        ({"SITE_URL": ""}, "SITE_URL must be the address"),
        ({"SITE_URL": "ops.example.com"}, "SITE_URL must be the address"),
        ({"FILE_STORAGE": "ftp"}, "FILE_STORAGE must be local or s3"),
        ({"FILE_STORAGE": "s3"}, "FILE_STORAGE=s3 needs django-storages"),
        ({"ATTACHMENT_IMAGE_MAX_MB": "big"}, "ATTACHMENT_IMAGE_MAX_MB must be a whole number"),
    ],
)
def test_bad_production_settings_stop_the_app_with_a_clear_message(change, message):
    result = run_django({**PRODUCTION, **change}, "check")
    assert result.returncode != 0
    assert message in result.stderr


def test_development_needs_no_settings_at_all():
    result = run_django({}, "check")
    assert result.returncode == 0, result.stderr


def test_production_cookies_and_headers():
    code = (
        "from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, s.SESSION_COOKIE_SAMESITE,"
        " s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0, s.SECURE_SSL_REDIRECT,"
        " s.STORAGES['staticfiles']['BACKEND'].endswith('CompressedManifestStaticFilesStorage'))"
    )
    result = run_django(PRODUCTION, "shell", "-v", "0", "-c", code)
    assert result.stdout.split() == ["True", "True", "Lax", "True", "True", "True", "True"]


# Content-Security-Policy


@pytest.mark.django_db
def test_every_page_sends_a_strict_csp_and_nothing_inline(member_client):
    system = SystemFactory()
    for url in [reverse("home"), system.get_absolute_url(), reverse("login")]:
        response = member_client.get(url)
        policy = response["Content-Security-Policy"]
        for directive in [
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "style-src 'self'",
        ]:
            assert directive in policy
        nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
        html = response.content.decode()
        scripts = re.findall(r"<script[^>]*>", html)
        assert scripts and all(f'nonce="{nonce}"' in tag and "src=" in tag for tag in scripts)
        assert not re.search(r"\sstyle=", html)
        assert "<style" not in html
        assert '"allowEval": false' in html


# CSRF and GET


@pytest.mark.django_db
def test_state_changing_requests_need_the_csrf_token_htmx_included(member):
    from opsmodel.roles import FOUNDERS
    from tests.factories import UserFactory

    founder = UserFactory(roles=[FOUNDERS])
    client = Client(enforce_csrf_checks=True)
    client.force_login(founder)
    url = reverse("systems:new")
    data = {"name": "Hiring", "parent": "", "purpose": "", "owner": "", "software": []}
    assert client.post(url, data, HTTP_HX_REQUEST="true").status_code == 403
    assert not System.objects.exists()

    client.get(reverse("home"))  # sets the CSRF cookie; the page puts it in data-hx-headers
    token = client.cookies["csrftoken"].value
    response = client.post(url, data, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200 and System.objects.filter(name="Hiring").exists()


@pytest.mark.django_db
def test_no_url_changes_anything_over_get(founder_client, objects):  # noqa: F811
    from opsmodel.runs.models import Run, RunStep
    from processes.models import Metric, MetricValue, Process, Step
    from sops.models import SOP, Acknowledgement
    from tests.test_access_matrix import matrix

    def fingerprint():
        models = [System, Process, Step, SOP, Metric, MetricValue, Acknowledgement, Run, RunStep]
        return [
            sorted(m.objects.values_list("pk", *(["version"] if hasattr(m, "version") else [])))
            for m in models
        ]

    before = fingerprint()
    for _name, (_method, url, _data, _expected) in matrix(objects).items():
        founder_client.get(url)
        founder_client.get(url, HTTP_HX_REQUEST="true")
    assert fingerprint() == before


# Login throttling


@pytest.mark.django_db
def test_pages_go_out_compressed_to_a_browser_that_accepts_it(founder_client):
    SystemFactory.create_batch(5)
    plain = founder_client.get(reverse("home"))
    packed = founder_client.get(reverse("home"), HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert "Content-Encoding" not in plain
    assert packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"]
    body = gzip.decompress(packed.content).decode()
    assert "How the business runs" in body
    assert len(packed.content) < len(plain.content) / 3
    assert packed["Content-Length"] == str(len(packed.content))


@pytest.mark.django_db
def test_each_compressed_page_is_padded_by_a_random_length_against_breach(founder_client):
    SystemFactory.create_batch(5)
    lengths = set()
    for _ in range(8):
        packed = founder_client.get(reverse("metrics:goals"), HTTP_ACCEPT_ENCODING="gzip")
        assert packed["Content-Encoding"] == "gzip"
        assert packed.content[3] & gzip.FNAME  # the padding is the gzip header's file name
        assert "Goals" in gzip.decompress(packed.content).decode()
        lengths.add(len(packed.content))
    # Eight pages the same but for their masked CSRF tokens: the padding (0–99 bytes) varies.
    assert len(lengths) > 1


def test_a_streamed_response_is_compressed_as_django_compresses_it(rf):
    from django.http import StreamingHttpResponse

    from opsmodel.middleware import GZipMiddleware

    chunks = [b"line of text " * 40] * 5
    middleware = GZipMiddleware(lambda request: StreamingHttpResponse(iter(chunks)))
    response = middleware(rf.get("/", HTTP_ACCEPT_ENCODING="gzip"))
    assert response["Content-Encoding"] == "gzip"
    assert gzip.decompress(b"".join(response.streaming_content)) == b"".join(chunks)


@pytest.mark.django_db
def test_repeated_failed_logins_lock_out_that_username_from_that_address_for_a_while(member):
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(4):
        response = attacker.post(reverse("login"), {"username": "member", "password": "wrong"})
        assert response.status_code == 200
    fifth = attacker.post(reverse("login"), {"username": "member", "password": "wrong"})
    assert fifth.status_code == 429
    # Locked out: even the right password is refused from here for now.
    locked = attacker.post(reverse("login"), {"username": "member", "password": PASSWORD})
    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.content.decode()

    # The real person, elsewhere, is not locked out.
    colleague = Client(REMOTE_ADDR="198.51.100.7")
    ok = colleague.post(reverse("login"), {"username": "member", "password": PASSWORD})
    assert ok.status_code == 302

    # And the lockout ends on its own.
    AccessAttempt.objects.update(
        attempt_time=datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=16)
    )
    later = attacker.post(reverse("login"), {"username": "member", "password": PASSWORD})
    assert later.status_code == 302


# Error pages


@pytest.mark.django_db
def test_error_pages_are_in_the_apps_style_and_reveal_nothing(client, settings):
    settings.DEBUG = False
    response = server_error(RequestFactory().get("/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in html
    assert "Traceback" not in html and "settings" not in html.lower()
    missing = client.get("/no/such/page/")
    assert (
        missing.status_code == 404
        and "There is nothing at this address" in missing.content.decode()
    )


@pytest.mark.django_db
def test_activity_moves_the_session_expiry_and_idle_sessions_end(member_client, settings):
    import time

    from django.contrib.sessions.models import Session

    session = member_client.session
    session["seen"] = int(time.time()) - 10 * 60  # last activity ten minutes ago
    session.save()
    before = Session.objects.get(session_key=session.session_key).expire_date
    assert member_client.get(reverse("front:my_work")).status_code == 200
    after = Session.objects.get(session_key=session.session_key).expire_date
    assert after > before  # activity pushed the end of the session forward

    # Idle past the timeout: the session has expired and the person must log in again.
    Session.objects.filter(session_key=session.session_key).update(
        expire_date=datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=1)
    )
    assert member_client.get(reverse("front:my_work")).status_code == 302


def test_postgresql_queries_are_prepared_on_the_server_unless_turned_off():
    from opsmodel.settings import database_from_url

    url = "postgres://ops:secret@db.internal:5432/opsmodel"
    assert database_from_url(url)["OPTIONS"] == {
        "server_side_binding": True,
        "prepare_threshold": 1,
    }
    assert database_from_url(url, prepared=False)["OPTIONS"] == {}


@pytest.mark.django_db
def test_a_page_seen_twice_runs_its_queries_prepared_on_postgresql(member_client):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: runs in the PostgreSQL pass of `make test`")
    url = SystemFactory().get_absolute_url()
    member_client.get(url, HTTP_CACHE_CONTROL="no-cache")
    member_client.get(url, HTTP_CACHE_CONTROL="no-cache")
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [statement for (statement,) in cursor.fetchall()]
    assert any('FROM "systems_system"' in statement for statement in prepared)
