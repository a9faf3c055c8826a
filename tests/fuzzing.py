"""The pieces of the fuzz test (tests/test_fuzz.py): bad values, forms read off the pages,
the query parameters the views read, and a fingerprint of the database."""

from __future__ import annotations

import hashlib
import re
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from django.db import connection
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

# Each kind of bad value, with a few of its kind; the fuzzer tries one (or more) of each.
KINDS: dict[str, list[str]] = {
    "empty": ["", " ", "\t\n"],
    # Long text, a long number, and many words (each word a LIKE in an admin search).
    "huge": ["x" * 100_000, "9" * 100_000, "ab " * 2_000],
    "wrong-type": ["abc", "[]", "{}", "true", "1.5", "on", "<script>alert(1)</script>"],
    "negative": ["-1", "-99999999999999999999", "-0", "-1.5"],
    "unicode": [
        "\u202eRTL \u0645\u0631\u062d\u0628\u0627 \u05e9\u05dc\u05d5\u05dd",
        "\U0001f642\U0001f469\u200d\U0001f469\u200d\U0001f467",
        "e\u0301\u0308\u20dd a\u0338",
        "\u0661\u0662\u0663",  # Arabic-Indic digits: isdigit(), but not what int() wants
        "\u00b2",  # superscript two: isdigit(), int() refuses
        "\ud800",  # a lone surrogate: not encodable as UTF-8
    ],
    "nul": ["a\x00b", "\x00", "1\x00", "\x00\x00\x00"],
    "out-of-range": [
        "99999999999999999999",
        "2147483648",
        "9223372036854775808",
        "0",
        "1e20",
        "NaN",
        "inf",
        "0000-00-00",
        "9999-99-99",
        "10000-01-01",
        "2024-W99",
    ],
}


def fingerprint(value: str) -> str:
    """A value as the report shows it: short, with its odd characters escaped."""
    text = value.encode("unicode_escape").decode("ascii")
    return text if len(text) <= 40 else f"{text[:30]}… ({len(value)} chars)"


@dataclass
class FormField:
    name: str
    kind: str  # the input type, "select", "select-multiple", "textarea" or "button"
    value: list[str] = field(default_factory=list)  # what the page would post unchanged
    options: list[str] = field(default_factory=list)


@dataclass
class Form:
    action: str
    fields: dict[str, FormField] = field(default_factory=dict)
    multipart: bool = False


class FormParser(HTMLParser):
    """Every <form method="post"> of a page with its fields, as a browser would post them."""

    def __init__(self, page_url: str):
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[Form] = []
        self.form: Form | None = None
        self.select: FormField | None = None
        self.textarea: FormField | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v if v is not None else "" for k, v in attrs}
        if tag == "form":
            if a.get("method", "get").lower() == "post":
                self.form = Form(a.get("action") or self.page_url)
                self.form.multipart = "multipart" in a.get("enctype", "")
                self.forms.append(self.form)
            return
        if tag == "option" and self.select is not None:
            self.select.options.append(a.get("value", ""))
            if "selected" in a:
                self.select.value.append(a.get("value", ""))
            return
        if self.form is None or not a.get("name") or a["name"] == "csrfmiddlewaretoken":
            return
        name = a["name"]
        if tag == "input":
            kind = a.get("type", "text").lower()
            got = self.form.fields.setdefault(name, FormField(name, kind))
            if kind in ("checkbox", "radio"):
                got.options.append(a.get("value", "on"))
                if "checked" in a:
                    got.value.append(a.get("value", "on"))
            elif kind not in ("submit", "reset", "image"):
                got.value = [a.get("value", "")]
        elif tag == "button" and "disabled" not in a:
            got = self.form.fields.setdefault(name, FormField(name, "button"))
            got.options.append(a.get("value", ""))
            got.value = got.value or [a.get("value", "")]
        elif tag == "select":
            kind = "select-multiple" if "multiple" in a else "select"
            self.select = self.form.fields.setdefault(name, FormField(name, kind))
        elif tag == "textarea":
            self.textarea = self.form.fields.setdefault(name, FormField(name, "textarea"))
            self.textarea.value = [""]

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea.value[0] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            if self.textarea is not None and self.textarea.value[0].startswith("\n"):
                self.textarea.value[0] = self.textarea.value[0][1:]  # as browsers drop it
            self.textarea = None


def forms_on(html: str, page_url: str) -> list[Form]:
    parser = FormParser(page_url)
    parser.feed(html)
    parser.close()
    return parser.forms


# What a person would type in a field the page left empty, so that the one field fuzzed is
# the only thing wrong with the form.
PLAIN = {
    "email": "fuzz@example.com",
    "url": "https://example.com/fuzz",
    "number": "3",
    "date": "2030-01-07",
    "password": "a-long-Fuzz-password-1",
}


def plausible(form: Form) -> dict[str, list[str]]:
    """The form as posted by someone who filled in every empty text field sensibly."""
    data: dict[str, list[str]] = {}
    for f in form.fields.values():
        value = list(f.value)
        typed = f.kind in ("text", "textarea", "email", "url", "number", "date", "password")
        if typed and (not value or not value[0].strip()):
            value = [PLAIN.get(f.kind, "Fuzz text")]
        if f.kind == "file":
            continue
        data[f.name] = value
    return data


# Query parameters the views read (request.GET.get("x"), request.GET["x"], "x" in request.GET),
# found in the code, so that a parameter added to a view is fuzzed without being listed here.
_READ = re.compile(
    r"""request\.GET(?:\.get\(|\[)\s*["'](\w+)["']|["'](\w+)["']\s+in\s+request\.GET"""
)


def params_read_by_views(root: Path) -> set[str]:
    found: set[str] = set()
    for app in ("opsmodel", "systems", "processes", "sops"):
        for path in (root / app).rglob("*.py"):
            for match in _READ.finditer(path.read_text()):
                found.add(match.group(1) or match.group(2))
    return found


# Tables whose rows change by design on requests that fail: the session (the inactivity
# timeout touches it on any request) and the record of failed logins (kept on purpose).
UNWATCHED = re.compile(r"^(django_session|axes_\w+)$")


_WRITE = re.compile(
    r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|REPLACE\s+INTO|TRUNCATE)\s+"?(\w+)', re.I
)


def writes_a_watched_table(sql: str) -> bool:
    """Does this statement change a table the fingerprint covers? (A savepoint does not.)"""
    match = _WRITE.match(sql)
    return bool(match) and not UNWATCHED.match(match.group(1))


def database_fingerprint() -> dict[str, str]:
    """A hash of every row of every table, by table (the rows read in primary-key-free order,
    so sorted): any insert, update or delete shows."""
    prints = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            if UNWATCHED.match(table):
                continue
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            rows = sorted(repr(row) for row in cursor.fetchall())
            prints[table] = hashlib.blake2b("\n".join(rows).encode()).hexdigest()
    return prints


def where_it_broke(exc_info) -> str:
    """The error, and the last frames of the traceback that are the project's own."""
    if not exc_info:
        return ""
    _, error, tb = exc_info
    frames = traceback.extract_tb(tb)
    # The project's frames, less the map stamp's wrapper around every query.
    own = [
        f
        for f in frames
        if "/site-packages/" not in f.filename
        and "/tests/" not in f.filename
        and "/lib/python" not in f.filename
        and f.name != "watch_writes"
    ][-3:]
    where = " <- ".join(
        f"{Path(f.filename).parent.name}/{Path(f.filename).name}:{f.lineno} {f.name}"
        for f in reversed(own or frames[-1:])
    )
    return f"{type(error).__name__}: {str(error)[:100]} at {where} (raised in {frames[-1].name})"


@contextmanager
def keys_read():
    """The keys read from any QueryDict meanwhile ("*": all of them, as a loop over it reads
    them), so the fuzzer can learn which query parameters a view reads by asking it once."""
    read: set[str] = set()
    saved = {name: MultiValueDict.__dict__.get(name) for name in (*_KEYED, *_WHOLE)}

    def keyed(original):
        def method(self, key, *args, **kwargs):
            # A request's QueryDict, once built (building it asks for every key), and not the
            # URL resolver's own MultiValueDicts.
            if isinstance(self, QueryDict) and not self._mutable:
                read.add(key)
            return original(self, key, *args, **kwargs)

        return method

    def whole(original):
        def method(self, *args, **kwargs):
            if isinstance(self, QueryDict) and not self._mutable:
                read.add("*")
            return original(self, *args, **kwargs)

        return method

    for name in _KEYED:
        setattr(MultiValueDict, name, keyed(getattr(MultiValueDict, name)))
    for name in _WHOLE:
        setattr(MultiValueDict, name, whole(getattr(MultiValueDict, name)))
    try:
        yield read
    finally:
        for name, method in saved.items():
            if method is None:
                delattr(MultiValueDict, name)
            else:
                setattr(MultiValueDict, name, method)


_KEYED = ("__getitem__", "getlist", "__contains__")
_WHOLE = ("items", "lists", "keys", "__iter__", "dict")
