"""Issue 14, kept fixed: a bounded fuzz of every URL of the URLconf, on both databases.

Every form and every POST endpoint gets bad values (tests/fuzzing.py: empty, huge, wrong-type,
negative, unicode, NUL bytes, out of range) in each of its fields, plus fields missing, repeated
and extra, and bad query parameters; every GET endpoint gets bad path and query values. The
requests go to the real views, as each role, plain and from htmx. Two things must hold:
no answer is a 5xx, and no request that failed (status 400 or more, a form shown again with its
errors, a redirect to log in, or any GET) changed the database.

The form fields are read off the pages themselves, the query parameters off the views' code,
and the URL names off the URLconf, so a new form field, parameter or endpoint is fuzzed without
being listed here; a POST endpoint no page holds as a form fails the test until it has an entry
in POSTED_BY_SCRIPT. Deterministic: every choice comes from a random.Random seeded by name.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import random
import re
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus, urlsplit

import pytest
from django.conf import settings
from django.contrib import admin
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone

from processes.models import MetricValue
from processes.periods import code, period_start
from tests.factories import (
    ProcessFactory,
    SoftwareFactory,
    StepFactory,
    SystemFactory,
    UserFactory,
)
from tests.fuzzing import (
    KINDS,
    database_fingerprint,
    fingerprint,
    forms_on,
    keys_read,
    params_read_by_views,
    plausible,
    where_it_broke,
    writes_a_watched_table,
)
from tests.test_access_matrix import matrix, objects, people  # noqa: F401 (its fixtures)

pytestmark = pytest.mark.django_db

APPS = {"opsmodel", "systems", "processes", "sops"}  # the project's own (the admin: its models)
ROLES = ["anonymous", "member", "outsider", "founder", "staff"]
HTMX = {"HTTP_HX_REQUEST": "true"}

# The 5xx and the failed requests that changed the database that the fuzzer is known to find,
# while a fix is on its way: (method, URL name, field, value kind, database: "sqlite",
# "postgresql" or "both") → the cause. The test fails if one of these stops happening: remove
# its entry once its fix has landed. (A field's name keeps its shape, not its id:
# "step-N-version".) None today.
KNOWN_FAILURES: dict[tuple[str, str, str, str, str], str] = {}

# POST endpoints posted by the page's script rather than by a <form>: the fields they take.
POSTED_BY_SCRIPT = {
    "processes:order_steps": lambda o: {"order": [str(o["step"].pk)]},  # drag and drop
    "sops:preview": lambda o: {"body": ["1. Open the books."]},  # the preview as you type
    # "Add a tool" inside a system's or an SOP's form: its fields and the tools ticked there.
    "systems:software_add": lambda o: {
        "tool-name": ["Loom"],
        "tool-link": ["https://www.loom.com"],
        "tool-category": ["communication"],
        "software": [],
    },
    # Forms on pages the crawl does not reach: a person who has left (Reactivate), and the
    # page a password's emailed link opens.
    "front:reactivate": lambda o: {},
    # A Markdown import's preview and cancel: of an upload this session never made (the
    # choices of a real one are fuzzed in test_markdown_import_pages.py).
    "front:markdown_preview": lambda o: {
        "level-0": ["sop"],
        "owner-0": ["founder"],
        "owner-all": [""],
        "import": ["1"],
    },
    "front:markdown_cancel": lambda o: {},
    "password_reset_confirm": lambda o: {
        "new_password1": ["a-long-Password-9"],
        "new_password2": ["a-long-Password-9"],
    },
}
# Upload forms: the file they take is the download of another URL; its values are the fields.
UPLOADS = {"front:import_map": "front:export_map", "metrics:import": "metrics:export"}
# Query parameters tried everywhere, besides those the views are found to read.
PARAMS = {"next", "system", "process", "software", "q", "page", "inline"}
# The query parameters of the admin's lists and autocomplete (Django's own).
ADMIN_PARAMS = {"q", "term", "p", "o", "e", "page", "_popup", "_to_field", "all"}
# The admin's forms are Django's own code over the project's models: this many of each one's
# fields are fuzzed.
ADMIN_FIELDS = 5
# Extra fields a tampered form may carry.
EXTRA_FIELDS = {
    "id": "99999999999999999999",
    "pk": "-1",
    "version": "99999999999999999999",
    "inline": "1",
    "next": "weekly",
    "owner\x00": "x",
    "is_superuser": "on",
}
# A bad `next` (a URL name, another site) must never be followed nor break a redirect.
BAD_NEXT = ["weekly", "home", "//evil.example.com/", "https://evil.example.com/", "a\x00b"]
# How an answer says a form was refused while showing it again.
REFUSED = re.compile(rb'class="(error-summary|field-error|errornote|errorlist)')


@dataclass
class Finding:
    problem: str  # "5xx" or "changed the database"
    name: str
    field: str
    kind: str
    role: str
    htmx: bool
    method: str
    url: str
    value: str
    status: int
    cause: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.name, re.sub(r"\d+", "N", self.field), self.kind)

    def __str__(self) -> str:
        return (
            f"{self.problem}: {self.method} {self.url[:120]} ({self.name}) as {self.role}"
            f"{' via htmx' if self.htmx else ''}: {self.field}={self.value} [{self.kind}] "
            f"→ {self.status}. {self.cause}"
        )


def known(method: str, vendor: str) -> dict[tuple[str, str, str], str]:
    return {
        (name, field, kind): cause
        for (verb, name, field, kind, where), cause in KNOWN_FAILURES.items()
        if verb == method and where in (vendor, "both")
    }


def encoded(value: str) -> str:
    """A value for a query string or form body: percent-encoded as UTF-8, a lone surrogate as
    the invalid bytes a broken client would send."""
    return quote_plus(value.encode("utf-8", "surrogatepass"))


def query(pairs: dict[str, list[str]]) -> str:
    return "&".join(f"{encoded(k)}={encoded(v)}" for k, values in pairs.items() for v in values)


class Fuzzer:
    """Sends each request in a savepoint rolled back afterwards, so every request meets the
    same database, and checks its answer."""

    def __init__(self, sessions: dict[str, str | None]):
        self.sessions = sessions
        self.before = database_fingerprint()
        self.findings: list[Finding] = []
        self.sent = 0

    def client(self, role: str) -> Client:
        client = Client(raise_request_exception=False)
        if self.sessions.get(role):
            client.cookies[settings.SESSION_COOKIE_NAME] = self.sessions[role]
        return client

    def send(self, role, method, url, data=None, *, htmx=False, name, field="", kind="", value=""):
        headers = HTMX if htmx else {}
        client = self.client(role)
        wrote: list[str] = []

        def watch(execute, sql, params, many, context):
            if writes_a_watched_table(sql):
                wrote.append(sql)
            return execute(sql, params, many, context)

        self.sent += 1
        with transaction.atomic():
            with connection.execute_wrapper(watch):
                if method == "get":
                    response = client.get(url, **headers)
                elif isinstance(data, str):  # a urlencoded body, as a browser sends a form
                    response = client.post(
                        url, data, content_type="application/x-www-form-urlencoded", **headers
                    )
                else:
                    response = client.post(url, data or {}, **headers)
            status = response.status_code
            found = dict(
                name=name,
                field=field,
                kind=kind,
                role=role,
                htmx=htmx,
                method=method.upper(),
                url=url,
                value=fingerprint(value),
                status=status,
            )
            if status >= 500:
                self.findings.append(
                    Finding("5xx", cause=where_it_broke(response.exc_info), **found)
                )
            elif wrote and self.failed(method, response):
                try:
                    after = database_fingerprint()
                except DatabaseError as error:
                    after = {"(database unusable)": str(error)}
                changed = sorted(
                    t
                    for t in after.keys() | self.before.keys()
                    if after.get(t) != self.before.get(t)
                )
                if changed:
                    cause = f"tables changed: {', '.join(changed)}"
                    self.findings.append(Finding("changed the database", cause=cause, **found))
            transaction.set_rollback(True)
        return response

    @staticmethod
    def failed(method: str, response) -> bool:
        if method == "get" or response.status_code >= 400:
            return True
        location = response.get("Location", "") or response.get("HX-Redirect", "")
        if location.startswith(settings.LOGIN_URL):
            return True
        return bool(REFUSED.search(response.content))


@pytest.fixture
def cast(people, outsider):  # noqa: F811
    superuser = UserFactory(username="root", is_staff=True, is_superuser=True)
    return {**people, "outsider": outsider, "superuser": superuser}


@pytest.fixture
def quiet():
    """Thousands of 404s and 403s, and the 500s reported at the end: not one log line each."""
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


@pytest.fixture
def fuzzer(cast, objects, quiet):  # noqa: F811
    # A value recorded and a tool to own, so exports and the admin have rows to offer.
    metric = objects["metric"]
    today = timezone.localdate()
    MetricValue.objects.create(metric=metric, period=period_start("weekly", today), value=2)
    objects["software"] = SoftwareFactory(owner=cast["member"])
    # Something to move each thing past, so the pages offer their move buttons, and an SOP
    # too big for one sitting, so its page offers to turn it into a process.
    SystemFactory(owner=cast["member"])
    ProcessFactory(system=objects["system"])
    StepFactory(process=objects["process"])
    sop = objects["sop"]
    sop.estimated_minutes, sop.body = 300, "1. Film it.\n2. Edit it.\n3. Publish it.\n"
    sop.save()
    sessions = {}
    for role, person in cast.items():
        if person is not None:
            client = Client()
            client.force_login(person)
            session = client.session
            session["seen"] = int(time.time())  # the inactivity timeout: touched a while ago
            session.save()
            sessions[role] = session.session_key
    return Fuzzer(sessions)


def rng(*names) -> random.Random:
    return random.Random("|".join(ascii(n) for n in names))


def name_of(url: str) -> str:
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return ""
    if match.namespaces and match.namespaces[0] == "admin":
        return "admin:*"
    return match.view_name


def report(fuzzer: Fuzzer, method: str) -> None:
    """Fail on every finding not known, and on every known one that no longer happens."""
    expected = known(method, connection.vendor)
    seen = {f.key for f in fuzzer.findings}
    new = [f for f in fuzzer.findings if f.key not in expected]
    fixed = [f"{key}: {cause}" for key, cause in expected.items() if key not in seen]
    lines = [str(f) for f in dict((str(f.key) + f.problem + f.role, f) for f in new).values()]
    assert not lines and not fixed, (
        f"{fuzzer.sent} requests. Findings not in KNOWN_FAILURES ({len(lines)}):\n"
        + "\n".join(lines)
        + "\nKNOWN_FAILURES that no longer happen (remove them):\n"
        + "\n".join(fixed)
    )


# ---------------------------------------------------------------------------------------------
# GET: bad path and query values.


def path_values(kind: str, converter: str) -> list[str]:
    """The bad values of `kind` that reach the view through a path converter."""
    if converter == "int":
        digits = [v for v in KINDS[kind] if v.isascii() and v.isdigit()]
        return digits + (["000001"] if kind == "out-of-range" else [])
    return [v for v in KINDS[kind] if v and "/" not in v]


def bad_query(r: random.Random, params: list[str], kind: str, base: dict) -> dict:
    """Every parameter at once with a bad value of `kind`, the URL's own ones kept too."""
    return {**{k: [v] for k, v in base.items()}, **{p: [r.choice(KINDS[kind])] for p in params}}


def blame(send, pairs: dict[str, list[str]], base: dict, **found) -> None:
    """After a finding from many bad parameters at once: which one was it? Each alone again."""
    for param, values in pairs.items():
        send({**base, param: values}, field=f"?{param}", value=values[0], **found)


def fuzz_path(fuzzer: Fuzzer, name: str, url: str) -> None:
    """Each value the path carries (an id, a username) bad in turn."""
    match = resolve(urlsplit(url).path)
    converters = {arg: kind for kind, arg in re.findall(r"<(\w+):(\w+)>", str(match.route))}
    path = urlsplit(url).path
    for arg, value in match.kwargs.items():
        for kind in KINDS:
            r = rng(name, arg, kind)
            values = path_values(kind, converters.get(arg, "str"))
            # A number in the path: every one of them; other text: one of its kind.
            for bad in values if converters.get(arg) == "int" else r.sample(values, 1):
                segment = quote(bad.encode("utf-8", "surrogatepass"), safe="")
                at = path.replace(f"/{value}/", f"/{segment}/", 1)
                fuzzer.send(
                    r.choice(ROLES),
                    "get",
                    at,
                    htmx=r.random() < 0.5,
                    name=name,
                    field=arg,
                    kind=kind,
                    value=bad,
                )


def fuzz_query(
    fuzzer: Fuzzer, name: str, url: str, params: set[str], roles: list[str], kinds: int
) -> None:
    """Each query parameter the view reads bad in turn, with `kinds` kinds of bad value.

    Which ones it reads, it says itself: asked once with every parameter given a plain value.
    """
    path = urlsplit(url).path
    base = {k: [v] for k, v in (p.split("=", 1) for p in urlsplit(url).query.split("&") if p)}
    plain = {p: ["1"] for p in params if p not in base}
    with keys_read() as read:
        fuzzer.send(
            roles[0],
            "get",
            f"{path}?{query({**base, **plain})}",
            name=name,
            field="?(all)",
            kind="plain",
        )
    for param in sorted(params | base.keys() if "*" in read else read & (params | base.keys())):
        for kind in rng(name, url, param).sample(sorted(KINDS), kinds):
            r = rng(name, url, param, kind)
            bad = r.choice(KINDS[kind])
            fuzzer.send(
                r.choice(roles),
                "get",
                f"{path}?{query({**base, param: [bad]})}",
                htmx=r.random() < 0.5,
                name=name,
                field=f"?{param}",
                kind=kind,
                value=bad,
            )


def test_no_bad_path_or_query_value_gives_a_5xx_or_changes_the_database(fuzzer, objects, cast):  # noqa: F811
    params = PARAMS | params_read_by_views(Path(settings.BASE_DIR))
    for name, (_method, url, _data, _) in matrix(objects).items():
        fuzz_path(fuzzer, name, url)
        fuzz_query(fuzzer, name, url, params, ["founder", *ROLES], kinds=len(KINDS))
    for url in admin_lists(cast):
        kinds = len(KINDS) if "autocomplete" in url else 2  # the lists: Django's own code
        fuzz_query(fuzzer, "admin:*", url, ADMIN_PARAMS, ["superuser", "staff"], kinds=kinds)
    report(fuzzer, "GET")


# ---------------------------------------------------------------------------------------------
# POST: every form and every endpoint that takes a POST.


def accepts_post(fuzzer: Fuzzer, name: str, url: str) -> bool:
    """Does `url` take a POST? Asked of the URL itself, as a superuser, with nothing posted."""
    response = fuzzer.send("superuser", "post", url, {}, name=name, field="(all)", kind="empty")
    return response.status_code != 405


def crawl(fuzzer: Fuzzer, pages: list[str], admin_pages: list[str]) -> dict[str, dict]:
    """URL name → {posted-to URL: Form}, for every POST form on the pages, as the people who
    get them see them (a team member gets the forms of the people an SOP is assigned to, an
    admin those that manage people)."""
    found: dict[str, dict] = {}
    crawled = (("founder", pages), ("member", pages), ("staff", pages), ("superuser", admin_pages))
    for role, urls in crawled:
        client = fuzzer.client(role)
        for url in urls:
            response = client.get(url)
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            for form in forms_on(response.content.decode(), url):
                found.setdefault(name_of(form.action), {}).setdefault(form.action, form)
    return found


def admin_lists(cast) -> list[str]:
    """The admin's lists of the project's models, and the search behind its autocomplete."""
    urls = [
        reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist")
        for m in admin.site._registry
        if m._meta.app_label in APPS
    ]
    owner = "app_label=systems&model_name=software&field_name=owner"
    return [*urls, f"{reverse('admin:autocomplete')}?{owner}"]


def admin_urls(objects, cast) -> list[str]:  # noqa: F811
    """The admin's forms for the project's models: each one's add form and change form."""
    some = {**objects, "user": cast["member"], "group": cast["member"].groups.first()}
    urls = []
    for model in admin.site._registry:
        opts = model._meta
        if opts.app_label not in APPS:
            continue
        prefix = f"admin:{opts.app_label}_{opts.model_name}"
        urls.append(reverse(f"{prefix}_add"))
        if some.get(opts.model_name) is not None:
            urls.append(reverse(f"{prefix}_change", args=[some[opts.model_name].pk]))
    return urls


def file_fields(fuzzer: Fuzzer, name: str) -> tuple[str, list, object]:
    """An upload form's file as its download gives it: (format, its value paths, document)."""
    text = fuzzer.client("founder").get(reverse(UPLOADS[name])).content.decode()
    if text.lstrip().startswith(("{", "[")):
        doc = json.loads(text)
        paths = []

        def walk(node, at):
            if isinstance(node, dict):
                for k, v in node.items():
                    walk(v, (*at, k))
            elif isinstance(node, list):
                for i, v in enumerate(node[:2]):
                    walk(v, (*at, i))
            else:
                paths.append(at)

        walk(doc, ())
        return "json", paths, doc
    rows = list(csv.reader(io.StringIO(text)))
    return "csv", [(1, i) for i in range(len(rows[0]))], rows


def with_value(doc, path, value):
    doc = json.loads(json.dumps(doc))
    node = doc
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return doc


def upload(kind: str, doc, path=None, value=None) -> SimpleUploadedFile:
    if kind == "json":
        body = json.dumps(doc if path is None else with_value(doc, path, value))
        return SimpleUploadedFile("map.json", body.encode("utf-8", "surrogatepass"))
    rows = [list(row) for row in doc]
    if path is not None:
        rows[path[0]][path[1]] = value
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return SimpleUploadedFile("values.csv", out.getvalue().encode("utf-8", "surrogatepass"))


def fuzz_upload(fuzzer: Fuzzer, name: str, url: str) -> None:
    kind, paths, doc = file_fields(fuzzer, name)
    r = rng(name)

    def post(file, field: str, value_kind: str, value, role: str = "founder", htmx: bool = False):
        fuzzer.send(
            role,
            "post",
            url,
            {"file": file},
            htmx=htmx,
            name=name,
            field=field,
            kind=value_kind,
            value=value,
        )

    for path in r.sample(paths, min(len(paths), 4)):
        field = "/".join(str(p) for p in path) if kind == "json" else doc[0][path[1]]
        for value_kind, values in KINDS.items():
            value = rng(name, field, value_kind).choice(values)
            file = upload(kind, doc, path, value)
            post(file, field, value_kind, value, htmx=r.random() < 0.5)
        if kind == "json":  # the wrong type: a list, a number, an object where a text goes
            for value in ([], 1e20, {"a": None}, None, -1):
                post(upload(kind, doc, path, value), field, "wrong-type", repr(value))
    for value_kind, values in KINDS.items():  # the whole file one bad value
        for value in values[:2]:
            file = SimpleUploadedFile("bad", value.encode("utf-8", "surrogatepass"))
            post(file, "file", value_kind, value)
    for body in (b"\xff\xfe\x00", b"[]", b'{"systems": 5}', b"null", b"\x00" * 10):
        post(SimpleUploadedFile("bad", body), "file", "wrong-type", repr(body))
    for role in ROLES:
        for htmx in (False, True):
            file = upload(kind, doc, r.choice(paths), r.choice(KINDS["nul"]))
            post(file, "file", "nul", "(in the file)", role=role, htmx=htmx)


def writer_of(fuzzer: Fuzzer, name: str, url: str, data: dict) -> str:
    """The role the endpoint lets through (or the founder, if none): fuzzed the hardest."""
    for role in ("founder", "member", "staff", "superuser"):
        response = fuzzer.send(
            role, "post", url, query(data), name=name, field="(all)", kind="as the page has it"
        )
        if response.status_code not in (403, 405) and not response.get("Location", "").startswith(
            settings.LOGIN_URL
        ):
            return role
    return "founder"


def fuzz_form(fuzzer: Fuzzer, name: str, url: str, fields: dict, *, thorough: bool) -> None:
    """Each field bad in turn (every kind of bad value, missing, repeated; for the admin's
    forms, ADMIN_FIELDS of their fields with two kinds) as the role the endpoint lets through;
    then all fields empty, extra fields, and a bad value as every role. The query parameters
    the view reads (it says which, posted once with each given a plain value) get a bad value
    each, and `next`, if read, every BAD_NEXT."""
    base = dict(fields)
    params = PARAMS | params_read_by_views(Path(settings.BASE_DIR))
    sep = "&" if "?" in url else "?"
    plain = {p: ["1"] for p in params if p not in base and p not in url}
    with keys_read() as read:
        writer = writer_of(fuzzer, name, f"{url}{sep}{query(plain)}", base)

    def post(role, data, *, field, kind, value="", htmx=None, at=url):
        r = rng(name, role, field, kind, value)
        htmx = r.random() < 0.5 if htmx is None else htmx
        return fuzzer.send(
            role, "post", at, query(data), htmx=htmx, name=name, field=field, kind=kind, value=value
        )

    some = rng(name, url).sample(sorted(fields), min(len(fields), ADMIN_FIELDS))
    for field in fields if thorough else some:
        r = rng(name, field)
        for kind in sorted(KINDS) if thorough else r.sample(sorted(KINDS), 2):
            value = rng(name, field, kind).choice(KINDS[kind])
            post(writer, {**base, field: [value]}, field=field, kind=kind, value=value)
        if thorough:
            post(writer, {k: v for k, v in base.items() if k != field}, field=field, kind="missing")
        # A field posted with other than one value (a multiple choice) gets several.
        if thorough and len(fields[field]) != 1:
            post(writer, {**base, field: ["1", "2", "x\x00"]}, field=field, kind="repeated")
    post(writer, {}, field="(all)", kind="empty")
    extra = {k: [v] for k, v in EXTRA_FIELDS.items() if k not in base}
    post(writer, {**base, **extra}, field="(extra fields)", kind="extra", value=str(list(extra)))
    if "next" in read:
        for bad in BAD_NEXT:
            post(writer, {**base, "next": [bad]}, field="next", kind="bad next", value=bad)
    for param in sorted(read & plain.keys()):
        r = rng(name, "query", param)
        kind = r.choice(sorted(KINDS))
        bad = r.choice(KINDS[kind])
        at = f"{url}{sep}{query({param: [bad]})}"
        post(writer, base, field=f"?{param}", kind=kind, value=bad, at=at)
    for i, role in enumerate(ROLES):
        htmx = i % 2 == 1  # each role once, plain or from htmx by turns
        r = rng(name, role, htmx)
        field = r.choice(sorted(fields) or ["(none)"])
        kind = r.choice(sorted(KINDS))
        value = r.choice(KINDS[kind])
        post(role, {**base, field: [value]}, field=field, kind=kind, value=value, htmx=htmx)


def test_no_bad_form_value_gives_a_5xx_or_changes_the_database(fuzzer, objects, cast):  # noqa: F811
    pages = matrix(objects)
    gets = [url for method, url, _, _ in pages.values() if method == "get"]
    found = crawl(fuzzer, gets, admin_urls(objects, cast))
    missing = []
    for name, (_method, url, _data, _) in pages.items():
        if name == "admin:*":
            continue
        if name.startswith("api:"):
            continue  # JSON with a token, not forms: schemathesis fuzzes them (test_api_schema.py)
        path = urlsplit(url).path
        if not accepts_post(fuzzer, name, path):
            continue
        if name in UPLOADS:
            fuzz_upload(fuzzer, name, path)
        elif name in POSTED_BY_SCRIPT:
            fields = POSTED_BY_SCRIPT[name](objects)
            fuzz_form(fuzzer, name, path, fields, thorough=True)
        elif name in found:
            action, form = next(iter(found[name].items()))  # one form of each kind
            fuzz_form(fuzzer, name, action, plausible(form), thorough=True)
        else:
            missing.append(name)
    for action, form in found.get("admin:*", {}).items():  # the admin's own code: lighter
        if re.search(r"/(add|change)/$", urlsplit(action).path):
            fuzz_form(fuzzer, "admin:*", action, plausible(form), thorough=False)
    assert missing == [], (
        "These URLs take a POST, but no page holds their form: give each an entry in "
        "POSTED_BY_SCRIPT with the fields it takes."
    )
    report(fuzzer, "POST")


# ---------------------------------------------------------------------------------------------
# The findings this file found, fixed: each as the person meets it.


@pytest.mark.parametrize(
    "bad_next",
    ["weekly", "home", "//evil.example.com/", "a\x00b", "/\x00", "/" + "x" * 20_000],
    ids=["a-word", "a-url-name", "another-site", "nul", "path-with-nul", "huge"],
)
def test_a_next_that_is_not_a_path_here_sends_the_person_back_after_the_value_is_saved(
    founder_client,
    objects,  # noqa: F811
    bad_next,
):
    metric = objects["metric"]
    week = period_start("weekly", timezone.localdate())
    url = reverse("metrics:record", args=[metric.pk])
    data = {"period": code("weekly", week), "value": "4", "next": bad_next}
    founder_client.raise_request_exception = False

    response = founder_client.post(url, data)

    assert response.status_code == 302
    assert response["Location"] == metric.get_absolute_url()
    assert MetricValue.objects.get(metric=metric, period=week).value == 4


def test_a_next_that_is_a_path_here_is_followed(founder_client, objects):  # noqa: F811
    metric = objects["metric"]
    week = code("weekly", period_start("weekly", timezone.localdate()))
    data = {"period": week, "value": "4", "next": "/metrics/?system=1"}
    response = founder_client.post(reverse("metrics:record", args=[metric.pk]), data)
    assert response["Location"] == "/metrics/?system=1"


@pytest.mark.parametrize("kind", ["systems", "processes"])
def test_moving_with_a_next_that_is_a_word_moves_and_shows_the_default_page(
    founder_client,
    objects,  # noqa: F811
    kind,
):
    first = objects["system"] if kind == "systems" else objects["process"]
    second = SystemFactory() if kind == "systems" else ProcessFactory(system=first.system)
    founder_client.raise_request_exception = False

    response = founder_client.post(
        reverse(f"{kind}:move", args=[second.pk]), {"direction": "up", "next": "weekly"}
    )

    assert response.status_code == 302
    assert response["Location"] == (
        reverse("home") if kind == "systems" else first.system.get_absolute_url()
    )
    ordered = list(type(first).objects.filter(pk__in=[first.pk, second.pk]))
    if kind == "processes":
        ordered.sort(key=lambda p: p.position)
    else:
        ordered.sort(key=lambda s: (s.tree_id, s.lft))
    assert ordered == [second, first]


@pytest.mark.parametrize("username", ["a%00b", "%00", "member%00"])
def test_a_person_whose_name_holds_a_nul_byte_is_not_found(member_client, username):
    member_client.raise_request_exception = False
    assert member_client.get(f"/people/{username}/").status_code == 404


@pytest.mark.parametrize(
    "as_typed",
    [
        str,
        lambda pk: f" {pk}",
        lambda pk: f"{pk}\x00",
        lambda pk: "".join(chr(0x660 + int(d)) for d in str(pk)),  # the same digits, Arabic-Indic
        lambda pk: "99999999999999999999",
        lambda pk: "-1",
    ],
    ids=["plain", "space", "nul", "arabic-digits", "past-64-bits", "negative"],
)
def test_an_id_in_the_query_string_is_plain_digits_or_nothing(founder_client, objects, as_typed):  # noqa: F811
    system = objects["system"]
    founder_client.raise_request_exception = False
    response = founder_client.get(reverse("processes:new"), {"system": as_typed(system.pk)})
    assert response.status_code == (200 if as_typed(system.pk) == str(system.pk) else 404)
