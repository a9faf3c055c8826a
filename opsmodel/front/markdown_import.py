"""Markdown that a business already has, turned into the map: a folder or a zip of it.

Three stages, each a function the command and the upload pages share:

- `read_zip()` / `read_folder()` / `read_path()`: the source's files, read safely (paths that
  would escape the folder, links, zip bombs, too many or too big files: refused or left
  behind, each with a reason a person can act on). Only Markdown and pictures are read.
- `plan()`: the tree of items it proposes (folders → systems, a file that is mainly a list of
  tasks → a process with those steps, a folder of short files → a process whose files are its
  steps, other files → SOPs), each body cleaned (front matter read and removed, MDX, comments
  and raw HTML dropped, relative pictures found).
- `to_document()`: the map document (opsmodel.front.exchange's format) for the levels chosen,
  every system, process and SOP carrying `"source": "file:<path>"`, so that importing the same
  source again updates what it made instead of doubling it. `exchange.import_map()` stores it,
  all or nothing.

Notion's "Markdown & CSV" export (a 32-hex id after every name), Outline and BookStack
exports, Obsidian vaults (`[[links]]`, `![[picture.png]]`) and handbooks kept in Git (a folder's
README.md says what the folder is) are read as such.
"""

from __future__ import annotations

import base64
import bisect
import codecs
import io
import math
import os
import re
import stat
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

import yaml
from django.conf import settings
from django.core.exceptions import ValidationError

from opsmodel.front.exchange import FORMAT, PORTABLE, VERSION, unique_file_name
from sops import attachments

# What is read: Markdown, and the pictures an SOP may show.
MARKDOWN = {".md", ".markdown", ".mdx", ".mdown", ".mkd", ".mkdn"}
PICTURES = {".png", ".jpg", ".jpeg", ".jpe", ".gif", ".webp"}
# Files a folder holds to say what the folder is (a Git handbook's README.md).
INDEX_NAMES = {"readme", "index", "_index"}
# Left behind without a word each: what the tools that make these exports leave around them.
JUNK_NAMES = {".ds_store", "thumbs.db", "desktop.ini"}
JUNK_FOLDERS = {"__macosx"}
# Folders of tools, not pages: left behind whole, not walked.
TOOL_FOLDERS = {"node_modules", "__pycache__", "venv", "site-packages"}
# The levels an item may be put at in the preview.
FOLDER_LEVELS = ("system", "process", "skip")
FILE_LEVELS = ("process", "step", "sop", "skip")
# The longest names the map takes (the models' max_length).
MAX_NAME = {"system": 120, "process": 120, "step": 120, "sop": 200}
MAX_RESULT = 300  # a process's result, an SOP's outcome
MAX_SOURCE = 500 - len("file:")
MAX_MINUTES = 480
# A file of at most this many characters is short: a folder of only short files is a process
# whose files are its steps.
SHORT_FILE_CHARS = 1500
# A file is mainly a list of tasks when it has this many and they make up this share of it.
MIN_TASKS = 3
TASK_SHARE = 0.6
# A zip holds at most this many entries of any kind (folders, files left behind) per file
# the import takes: its directory is read whole before anything else.
ENTRIES_PER_FILE = 5
READ_CHUNK = 64 * 1024
# Missing pictures and links listed for one file, at most.
MAX_MISSING = 50
# Front matter longer than this is not read (YAML is slow to read, and fields are short).
MAX_FRONT_MATTER = 64 * 1024
# Folders inside folders, at most (each becomes a system inside a system).
MAX_DEPTH = 24

NOTION_ID = re.compile(
    r"[ _-]?(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$"
)


class SourceRefused(Exception):
    """The whole source is refused; str(error) says why, to the person who gave it."""


@dataclass
class Source:
    name: str  # the zip's or the folder's name
    files: dict[str, bytes]  # safe relative POSIX path → its bytes
    left_behind: list[tuple[str, str]]  # (path, why)


@dataclass
class Item:
    """One thing of the source as the preview shows it: a folder or a file, the level it is
    proposed at, and what it carries."""

    key: str  # its path in the source: "Sales/Onboarding.md"; a folder "Sales"
    parent: str | None  # the key of the item it sits in (None at the top)
    title: str
    kind: str  # "folder" | "file"
    level: str  # "system" | "process" | "step" | "sop" | "skip"
    levels: list[str]  # the levels it may be changed to in the preview
    body: str = ""  # cleaned Markdown (a folder's: its README, the system's purpose)
    outcome: str = ""
    estimated_minutes: int | None = None
    owner_hint: str = ""  # a name or an email the file gives as its owner
    tags: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)  # read as a process: its tasks
    images: list[tuple[str, bytes]] = field(default_factory=list)  # (file, bytes)
    missing: list[str] = field(default_factory=list)  # pictures and links not in the source
    notes: list[str] = field(default_factory=list)  # what was dropped or decided, and why
    # The name each picture had in the source, by its file in `images`.
    image_names: dict[str, str] = field(default_factory=dict)


@dataclass
class Plan:
    source_name: str
    items: list[Item]  # in tree order: each folder, then what it holds
    left_behind: list[tuple[str, str]]

    def item(self, key: str) -> Item | None:
        return next((i for i in self.items if i.key == key), None)


# ---------------------------------------------------------------------------------------------
# Reading the source


def limits() -> tuple[int, int, int]:
    return settings.IMPORT_MAX_FILES, settings.IMPORT_MAX_FILE_BYTES, settings.IMPORT_MAX_BYTES


def size_text(size: int) -> str:
    return attachments.size_text(size)


def kind_of(path: str) -> str:
    """ "markdown", "picture", or "other", by the file's name."""
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in MARKDOWN:
        return "markdown"
    if suffix in PICTURES:
        return "picture"
    return "other"


def why_not_taken(path: str) -> str:
    """Why a file that is neither Markdown nor a picture stays behind."""
    suffix = PurePosixPath(path).suffix.lower()
    if suffix == ".csv":
        return "a table (a Notion database's rows are imported from their own pages, not the CSV)"
    if suffix == ".svg":
        return "SVG pictures cannot be attached (a browser would run what they hold)"
    if suffix == ".zip":
        return "a zip inside a zip inside the zip: unpack it and import it on its own"
    if not suffix:
        return "not a Markdown file (it has no .md ending)"
    return f"not Markdown or a picture (“{suffix}” files are not imported)"


def safe_path(raw: str) -> tuple[str | None, str]:
    """The path made relative and POSIX, in NFC; or None and why it cannot be taken."""
    path = raw.replace("\\", "/")
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return None, "an absolute path: it would be written outside the folder"
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None, "a path with “..”: it would be written outside the folder"
    if not parts:
        return None, "an empty name"
    if len(parts) > MAX_DEPTH:
        return None, f"more than {MAX_DEPTH} folders deep: a map is not nested so far"
    try:
        "/".join(parts).encode("utf-8")
    except UnicodeEncodeError:
        return None, "its name is not valid Unicode text"
    if any(unicodedata.category(ch) == "Cc" for p in parts for ch in p):
        return None, "its name has control characters"
    return unicodedata.normalize("NFC", "/".join(parts)), ""


def hidden_part(path: str) -> str | None:
    """The hidden or junk folder or file `path` is in (".git", ".obsidian", "__MACOSX"), or
    None."""
    parts = path.split("/")
    for n, part in enumerate(parts):
        if part.startswith(".") or part.casefold() in JUNK_FOLDERS | TOOL_FOLDERS:
            return "/".join(parts[: n + 1])
    return None


@dataclass
class Reader:
    """What has been taken so far, against the limits."""

    name: str
    files: dict[str, bytes] = field(default_factory=dict)
    left_behind: list[tuple[str, str]] = field(default_factory=list)
    total: int = 0
    hidden: set = field(default_factory=set)

    def leave(self, path: str, why: str) -> None:
        self.left_behind.append((path, why))

    def consider(self, raw: str) -> str | None:
        """The safe path of a file to read, or None (left behind, with why)."""
        path, why = safe_path(raw)
        if path is None:
            self.leave(raw, why)
            return None
        hidden = hidden_part(path)
        if hidden is not None:
            if PurePosixPath(path).name.casefold() in JUNK_NAMES or hidden.casefold().endswith(
                "__macosx"
            ):
                return None  # the operating system's own files: not worth a line
            if hidden not in self.hidden:
                self.hidden.add(hidden)
                self.leave(hidden, "hidden (an app's own settings or history, not pages)")
            return None
        if PurePosixPath(path).name.casefold() in JUNK_NAMES:
            return None
        if kind_of(path) == "other":
            self.leave(path, why_not_taken(path))
            return None
        if path in self.files:
            self.leave(path, "a second file of the same name")
            return None
        if len(self.files) >= limits()[0]:
            raise SourceRefused(too_many(self.name, limits()[0]))
        return path

    def limit_of(self, path: str) -> int:
        if kind_of(path) == "picture":
            return settings.ATTACHMENT_IMAGE_MAX_BYTES
        return limits()[1]

    def too_big(self, path: str, size: int | None) -> str:
        """Why a file too big stays behind (`size` None: it said it was smaller)."""
        limit = self.limit_of(path)
        what = "a picture" if kind_of(path) == "picture" else "a Markdown file"
        told = f"{size_text(size)}" if size is not None else "larger than its zip says"
        return f"too big: {told}, and {what} may be at most {size_text(limit)}"

    def take(self, path: str, stream) -> None:
        """Read a file from `stream`, never more than its limit (a zip may lie about sizes)."""
        limit, chunks, size = self.limit_of(path), [], 0
        while True:
            chunk = stream.read(READ_CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                self.leave(path, self.too_big(path, None))
                return
            if self.total + size > limits()[2]:
                raise SourceRefused(too_much(self.name, limits()[2]))
            chunks.append(chunk)
        self.total += size
        self.files[path] = b"".join(chunks)

    def source(self) -> Source:
        """What was read; SourceRefused if it holds no Markdown at all."""
        if not any(kind_of(p) == "markdown" for p in self.files):
            seen = ", ".join(f"“{p}”" for p, _ in self.left_behind[:3])
            more = f" (it holds {seen}{', …' if len(self.left_behind) > 3 else ''})"
            raise SourceRefused(
                f"“{self.name}” holds no Markdown files (.md) to import"
                + (more if seen else "")
                + ". Export the pages as Markdown, or choose the folder that holds them."
            )
        return Source(self.name, self.files, self.left_behind)


def too_many(name: str, limit: int) -> str:
    return (
        f"“{name}” holds more than {limit} files to import; an import takes at most {limit}. "
        "Import its folders one at a time."
    )


def too_much(name: str, limit: int) -> str:
    return (
        f"“{name}” holds more than {size_text(limit)} of Markdown and pictures; an import takes "
        f"at most {size_text(limit)}. Import its folders one at a time."
    )


def source_name(name: str) -> str:
    name = PurePosixPath(str(name).replace("\\", "/")).name
    if name.lower().endswith(".zip"):
        name = name[:-4]
    return clean_name(name) or "Imported"


def read_zip(fileobj, name: str) -> Source:
    """The Markdown and pictures in a zip; SourceRefused if it is not a zip, or too big."""
    shown = source_name(name)
    try:
        archive = zipfile.ZipFile(fileobj)
        entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise SourceRefused(
            f"“{shown}” is not a zip file that can be read. Export the pages again as a zip, "
            "or point the import at the folder."
        ) from None
    reader = Reader(shown)
    read_entries(archive, entries, reader, inner=False)
    return reader.source()


def read_entries(archive: zipfile.ZipFile, entries: list, reader: Reader, inner: bool) -> None:
    """The entries of a zip into `reader`. A zip in the zip (Notion splits a large export
    into parts so) is read as part of it, one level deep."""
    shown = reader.name
    max_files, _, max_bytes = limits()
    if len(entries) > max_files * ENTRIES_PER_FILE:
        raise SourceRefused(too_many(shown, max_files))
    for info in entries:
        if info.is_dir():
            continue
        name = entry_name(info)
        if stat.S_ISLNK(info.external_attr >> 16):
            reader.leave(name, "a link to another place, not a file: not followed")
            continue
        if not inner and name.lower().endswith(".zip") and safe_path(name)[0]:
            read_part(archive, info, name, reader)
            continue
        path = reader.consider(name)
        if path is None:
            continue
        if info.flag_bits & 0x1:
            reader.leave(path, "encrypted: unpack it with its password first")
            continue
        if info.file_size > reader.limit_of(path):
            reader.leave(path, reader.too_big(path, info.file_size))
            continue
        if reader.total + info.file_size > max_bytes:
            raise SourceRefused(too_much(shown, max_bytes))
        try:
            with archive.open(info) as stream:
                reader.take(path, stream)
        except UNREADABLE as error:
            reader.leave(path, f"damaged in the zip, it could not be read ({error})")


UNREADABLE = (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError)


def read_part(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, reader: Reader) -> None:
    """A zip inside the zip, read as part of it: its own bytes count against the source's
    limit (or a zip of zips would unpack without end), and then its entries as any other."""
    room = limits()[2] - reader.total
    if info.file_size > room or info.flag_bits & 0x1:
        reader.leave(name, "a zip inside the zip, too big or encrypted: import it on its own")
        return
    try:
        with archive.open(info) as stream:
            data = stream.read(room + 1)
        if len(data) > room:
            raise SourceRefused(too_much(reader.name, limits()[2]))
        reader.total += len(data)
        part = zipfile.ZipFile(io.BytesIO(data))
        entries = part.infolist()
    except (*UNREADABLE, ValueError, zipfile.LargeZipFile) as error:
        reader.leave(name, f"a zip inside the zip that could not be read ({error})")
        return
    read_entries(part, entries, reader, inner=True)


def entry_name(info: zipfile.ZipInfo) -> str:
    """An entry's name: zips that do not flag their names as UTF-8 often write them in it
    anyway (macOS, 7-Zip); read as the old DOS code page, they would be garbled."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def read_folder(path) -> Source:
    """The Markdown and pictures in a folder and its folders; links are not followed."""
    top = Path(path)
    if not top.is_dir():
        raise SourceRefused(f"“{top}” is not a folder.")
    reader = Reader(source_name(top.resolve().name or str(top)))
    for here, folders, names in os.walk(top, followlinks=False):
        relative = Path(here).relative_to(top).as_posix()
        prefix = "" if relative == "." else relative + "/"
        kept = []
        for folder in sorted(folders):
            full = Path(here) / folder
            if full.is_symlink():
                reader.leave(prefix + folder, "a link to another folder: not followed")
            elif folder.startswith(".") or folder.casefold() in JUNK_FOLDERS | TOOL_FOLDERS:
                if folder.casefold() not in JUNK_FOLDERS:
                    reader.leave(
                        prefix + folder, "hidden (an app's own settings or history, not pages)"
                    )
            else:
                kept.append(folder)
        folders[:] = kept
        for name in sorted(names):
            full = Path(here) / name
            try:
                info = full.lstat()
            except OSError as error:
                reader.leave(prefix + name, f"could not be read ({error.strerror})")
                continue
            if stat.S_ISLNK(info.st_mode):
                reader.leave(prefix + name, "a link to another file: not followed")
                continue
            if not stat.S_ISREG(info.st_mode):
                reader.leave(prefix + name, "not a file")
                continue
            taken = reader.consider(prefix + name)
            if taken is None:
                continue
            if info.st_size > reader.limit_of(taken):
                reader.leave(taken, reader.too_big(taken, info.st_size))
                continue
            try:
                with open(full, "rb") as stream:
                    reader.take(taken, stream)
            except OSError as error:
                reader.leave(taken, f"could not be read ({error.strerror})")
    return reader.source()


def read_path(path) -> Source:
    """A zip file, a folder, or one Markdown file."""
    place = Path(path)
    if place.is_dir():
        return read_folder(place)
    if place.is_file():
        with open(place, "rb") as file:
            return read_file(file, place.name, place.stat().st_size)
    raise SourceRefused(f"“{path}” is neither a folder nor a zip file.")


def read_file(fileobj, name: str, size: int) -> Source:
    """One file given (a path's, an upload's): a Markdown file read by the rules a zip's files
    are, or a zip. Raises SourceRefused."""
    if kind_of(name) == "markdown":
        reader = Reader(stem_title(PurePosixPath(name).stem))
        if size > reader.limit_of(name):
            raise SourceRefused(f"“{name}” is {reader.too_big(name, size)}.")
        reader.take(unicodedata.normalize("NFC", name), fileobj)
        return reader.source()
    return read_zip(fileobj, name)


# ---------------------------------------------------------------------------------------------
# Names


def clean_name(name: str) -> str:
    """A name as a title: printable, on one line, its spaces single, in NFC."""
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch if ch.isprintable() else " " for ch in name)
    return " ".join(name.split())


def strip_id(name: str) -> tuple[str, bool]:
    """A name without the id Notion puts at its end ("Onboarding 1a2b…f" → "Onboarding")."""
    stripped = NOTION_ID.sub("", name)
    return (stripped, stripped != name) if stripped.strip() else (name, False)


def stem_title(stem: str) -> str:
    """A file name as a title: "02-client-onboarding" → "Client onboarding"."""
    stem, _ = strip_id(stem)
    stem = clean_name(stem)
    without_number = re.sub(r"^\d+[\s._-]+(?=\S)", "", stem)
    stem = without_number or stem
    if stem.islower():
        stem = stem[:1].upper() + stem[1:]
    if " " not in stem and re.search(r"[-_]", stem):
        stem = " ".join(re.split(r"[-_]+", stem)).strip()
        stem = stem[:1].upper() + stem[1:]
    return stem or "Untitled"


def natural(text: str) -> list:
    """Sort key: "2 b" before "10 a"."""
    return [int(t) if n % 2 else t.casefold() for n, t in enumerate(re.split(r"([0-9]+)", text))]


def cut(text: str, length: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def unique(title: str, taken: set, length: int, blocked: frozenset = frozenset()) -> str:
    """`title` cut to `length`, made unique among `taken` and `blocked` (folded) as
    "Title (2)"; it is added to `taken`."""
    base = cut(title, length) or "Untitled"
    candidate, n = base, 2
    while candidate.casefold() in taken or candidate.casefold() in blocked:
        suffix = f" ({n})"
        candidate = cut(base, length - len(suffix)) + suffix
        n += 1
    taken.add(candidate.casefold())
    return candidate


# ---------------------------------------------------------------------------------------------
# Reading a file


def decode(data: bytes) -> str | None:
    """The text of a file: UTF-8 (with or without its mark), UTF-16 with its mark (Windows
    Notepad's "Unicode"), else Windows-1252; None if it is not text at all."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeError:
            return None
    if b"\x00" in data:
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            return None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    return unicodedata.normalize("NFC", text)


class FrontMatterLoader(yaml.SafeLoader):
    """yaml.safe_load's loader, without aliases: a few lines of them can stand for billions
    of values."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("aliases (*name) are not read")
        return super().compose_node(parent, index)


FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL)
# "Owner: Maya Ortiz": a name of at most three words, a colon, a value.
PROPERTY_LINE = re.compile(r"^([^\W\d_][\w&/().-]*(?: [\w&/().-]+){0,2}):[ \t]+(\S.*)$")
LIST_MARK = re.compile(r"[-*+][ \t]+")
# Values that say nothing is stated ("- Owner: none", "- One sitting: ? minutes").
UNSTATED = {"none", "not stated", "n/a", "-", "—", "tbd"}
KNOWN_PROPERTIES = {
    # Opsmodel's own handbook (opsmodel/front/handbook.py) writes these under each title.
    "one sitting",
    "recipe for step",
    "owner",
    "assignee",
    "assigned to",
    "responsible",
    "person",
    "author",
    "created by",
    "tags",
    "tag",
    "status",
    "created",
    "last edited",
    "last edited time",
    "created time",
    "outcome",
    "result",
    "estimated time",
    "estimate",
    "duration",
    "time",
    "category",
    "type",
}
# Who answers for the page; its author or creator need not (Notion fills "Created by" itself).
OWNER_KEYS = ("owner", "assignee", "assigned to", "responsible", "person")
TIME_KEYS = (
    "estimated_minutes",
    "estimated minutes",
    "estimated time",
    "estimate",
    "duration",
    "one sitting",
)
OUTCOME_KEYS = ("outcome", "result", "goal")


def read_front_matter(text: str) -> tuple[dict, str, list[str]]:
    """(its fields, the text without it, notes)."""
    match = FRONT_MATTER.match(text)
    if not match:
        return {}, text, []
    rest = text[match.end() :]
    if len(match.group(1)) > MAX_FRONT_MATTER:
        return {}, rest, ["front matter longer than any page's fields was dropped"]
    try:
        fields = yaml.load(match.group(1), Loader=FrontMatterLoader)  # noqa: S506 (safe)
    except (yaml.YAMLError, RecursionError, ValueError, TypeError):
        return {}, rest, ["front matter that could not be read was dropped"]
    if not isinstance(fields, dict):
        return {}, rest, ["front matter that is not a list of fields was dropped"]
    return {str(k).strip().casefold(): v for k, v in fields.items()}, rest, []


def as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(as_text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(as_text(v) for v in value.values())
    return clean_name(str(value))


def as_tags(value) -> list[str]:
    if isinstance(value, str):
        value = re.split(r"[,\s]+", value) if "," not in value else value.split(",")
    if not isinstance(value, list | tuple):
        value = [value]
    tags = [as_text(v).lstrip("#").strip() for v in value]
    return list(dict.fromkeys(t for t in tags if t))


def minutes(value) -> int | None:
    """Minutes from "15", 15, "15 min", "1h", "1 h 30 min", "1:30", "2 hours"."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return int(value) if math.isfinite(value) and abs(value) < 10**6 else None
    text = str(value).strip().lower()
    if match := re.fullmatch(r"([0-9]{1,4}):([0-9]{2})", text):
        return int(match.group(1)) * 60 + int(match.group(2))
    total, found = 0.0, False
    for amount, unit in re.findall(r"([0-9]{1,6}(?:[.,][0-9]{1,6})?)\s*([a-z]*)", text):
        amount = float(amount.replace(",", "."))
        found = True
        total += amount * 60 if unit.startswith("h") else amount
    return int(total) if found and math.isfinite(total) and total < 10**6 else None


def first_of(fields: dict, keys) -> object:
    return next((fields[k] for k in keys if fields.get(k) not in (None, "", [])), None)


@dataclass
class Read:
    """What a file says besides its body."""

    title: str = ""
    outcome: str = ""
    estimated_minutes: int | None = None
    owner_hint: str = ""
    tags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_fields(fields: dict, read: Read) -> None:
    if title := as_text(fields.get("title")):
        read.title = read.title or title
    if owner := first_of(fields, OWNER_KEYS):
        read.owner_hint = read.owner_hint or as_text(owner)
    tags = fields.get("tags") or fields.get("tag") or fields.get("keywords")
    if tags:
        read.tags = list(dict.fromkeys(read.tags + as_tags(tags)))
    if outcome := first_of(fields, OUTCOME_KEYS):
        read.outcome = read.outcome or as_text(outcome)
    time = first_of(fields, TIME_KEYS)
    if time is not None and read.estimated_minutes is None:
        found = minutes(time)
        if found is not None and 1 <= found <= MAX_MINUTES:
            read.estimated_minutes = found
        else:
            read.notes.append(
                f"its estimated time “{as_text(time)}” was not kept: "
                f"an SOP takes 1 to {MAX_MINUTES} minutes"
            )


HEADING = re.compile(r"^#[ \t]+(.*)$")


def take_title(text: str) -> tuple[str, str]:
    """The first `# Heading` when it opens the file (and the text without it)."""
    lines = text.split("\n")
    n = 0
    while n < len(lines) and not lines[n].strip():
        n += 1
    if n < len(lines) and (match := HEADING.match(lines[n].strip())):
        heading = match.group(1).rstrip()
        if heading.rstrip("#").endswith((" ", "\t")) or not heading.rstrip("#"):
            heading = heading.rstrip("#")  # "# Title ##": its closing hashes
        return plain(heading), "\n".join(lines[n + 1 :])
    if (
        n + 1 < len(lines)
        and lines[n].strip()
        and re.fullmatch(r"=+[ \t]*", lines[n + 1].strip() or "-")
    ):
        return plain(lines[n]), "\n".join(lines[n + 2 :])
    return "", text


def take_properties(text: str, notion: bool) -> tuple[dict, str]:
    """The `Key: value` lines Notion writes under a page's title, read and removed; or a
    list of them (`- Owner: Sam Lee`, as Opsmodel's own handbook and many wikis write them)
    when every key of the list is one known here."""
    lines = text.split("\n")
    n = 0
    while n < len(lines) and not lines[n].strip():
        n += 1
    start, fields, listed = n, {}, set()
    while n < len(lines):
        line = lines[n].strip()
        bullet = LIST_MARK.match(line)
        match = PROPERTY_LINE.match(line[bullet.end() :] if bullet else line)
        if not match:
            break
        value = match.group(2).strip()
        if value.casefold() not in UNSTATED and not value.startswith("?"):
            fields[match.group(1).strip().casefold()] = value
        if bullet:
            listed.add(match.group(1).strip().casefold())
        n += 1
    if n == start or (n < len(lines) and lines[n].strip()):
        return {}, text  # not a block of its own
    if listed and (len(listed) != n - start or not listed <= KNOWN_PROPERTIES):
        return {}, text  # a list that only looks like properties: instructions, kept
    if not notion and not set(fields) & KNOWN_PROPERTIES:
        return {}, text
    return fields, "\n".join(lines[:start] + lines[n:])


# ---------------------------------------------------------------------------------------------
# Cleaning a body

FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
BACKTICKS = re.compile(r"`+")
PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)
MDX_COMMENT = re.compile(r"\{/\*.*?\*/\}", re.DOTALL)
OBSIDIAN_COMMENT = re.compile(r"%%.*?%%", re.DOTALL)
NOTICE = re.compile(r"^:::[ \t]*(info|note|tip|warning|success|danger)?[ \t]*$", re.I)
CALLOUT = re.compile(r"^([ \t]*>[ \t>]*)\[!([A-Za-z]+)\][+-]?[ \t]*(.*)$")
MDX_LINE = re.compile(
    r"^(import\s.+\sfrom\s|import\s+['\"]|export\s+(default\s|const\s|function\s))"
)
TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:._-]*)((?:\s+[^<>]*?)?)\s*(/?)>", re.DOTALL)
# Dropped with all they hold: they run, style or frame things, they hold no instructions.
DANGEROUS = {
    "script",
    "style",
    "iframe",
    "object",
    "embed",
    "noscript",
    "template",
    "svg",
    "math",
    "textarea",
    "select",
    "head",
    "title",
    "frameset",
    "frame",
    "applet",
    "form",
    "canvas",
    "audio",
    "video",
}
LINK_OPEN = "\x01["  # "[" of an HTML link, until its </a> is found (no text holds \x01)
INLINE = {"b": "**", "strong": "**", "i": "*", "em": "*", "code": "`", "s": "~~", "del": "~~"}
BLOCK = {"p", "div", "section", "article", "br", "hr", "li", "tr", "table", "blockquote", "h1"}
ATTRIBUTE = re.compile(r"""([A-Za-z_:][\w:.-]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")


def attributes(text: str) -> dict[str, str]:
    return {
        m.group(1).lower(): next(g for g in m.groups()[1:] if g is not None)
        for m in ATTRIBUTE.finditer(text)
    }


def outside_code(text: str, change) -> str:
    """`change` applied to the text outside fenced code blocks and inline code."""
    out, chunk, fence = [], [], None
    for line in text.split("\n"):
        match = FENCE.match(line)
        if fence is None and match:
            out.append(change_prose("\n".join(chunk), change))
            chunk, fence = [], match.group(1)
            out.append(line)
        elif fence is not None:
            out.append(line)
            if line.strip().startswith(fence[0] * len(fence)) and not line.strip().strip(fence[0]):
                fence = None
        else:
            chunk.append(line)
    out.append(change_prose("\n".join(chunk), change))
    return "\n".join(part for part in out if part is not None)


def change_prose(text: str, change) -> str | None:
    """`change` on prose, inline code spans kept as they are."""
    pieces, last = [], 0
    spans = []
    for start, end in code_spans(text):
        spans.append(text[start:end])
        pieces.append(text[last:start])
        pieces.append(f"\x00{len(spans) - 1}\x00")
        last = end
    pieces.append(text[last:])
    changed = change("".join(pieces))
    return re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], changed)


def code_spans(text: str) -> list[tuple[int, int]]:
    """Where the inline code spans are: a run of backticks to the next run of as many, in
    the same paragraph (one pass, however many backticks)."""
    runs = [(m.start(), m.end()) for m in BACKTICKS.finditer(text)]
    breaks = [m.start() for m in PARAGRAPH_BREAK.finditer(text)]
    by_length: dict[int, list[int]] = {}
    for n, (start, end) in enumerate(runs):
        by_length.setdefault(end - start, []).append(n)
    spans, n = [], 0
    while n < len(runs):
        start, end = runs[n]
        same = by_length[end - start]
        after = bisect.bisect_right(same, n)
        if after < len(same):
            close = runs[same[after]]
            paragraph_ends = bisect.bisect_left(breaks, end)
            if paragraph_ends >= len(breaks) or breaks[paragraph_ends] > close[0]:
                spans.append((start, close[1]))
                n = same[after] + 1
                continue
        n += 1
    return spans


@dataclass
class Cleaner:
    """Cleans one file's body, noting what it dropped."""

    dropped: dict[str, set] = field(default_factory=dict)

    def note(self, what: str, name: str = "") -> None:
        self.dropped.setdefault(what, set()).add(name)

    def notes(self) -> list[str]:
        said = {
            "comment": "comments were dropped",
            "mdx": "MDX import and export lines were dropped",
            "jsx": "components ({}) were dropped; their text is kept",
            "html": "HTML tags ({}) were dropped; their text is kept",
            "danger": "{} dropped, content and all",
        }
        out = []
        for what, names in self.dropped.items():
            listed = ", ".join(sorted(n for n in names if n)[:8])
            if what == "danger":
                listed += " was" if len(names) == 1 else " were"
            out.append(said[what].format(listed or "some"))
        return out

    def clean(self, text: str) -> str:
        text = outside_code(text, self.prose)
        text = re.sub(r"\n{3,}", "\n\n", text)
        return text.strip("\n").rstrip() + ("\n" if text.strip() else "")

    def prose(self, text: str) -> str:
        if COMMENT.search(text) or MDX_COMMENT.search(text) or OBSIDIAN_COMMENT.search(text):
            self.note("comment")
        text = COMMENT.sub("", text)
        text = MDX_COMMENT.sub("", text)
        text = OBSIDIAN_COMMENT.sub("", text)
        lines, notice = [], False
        for line in text.split("\n"):
            if MDX_LINE.match(line):
                self.note("mdx")
                continue
            # Outline's notices (":::info" … ":::") and Obsidian's callouts ("> [!note]"):
            # quotes that say what they are.
            if notice:
                if line.strip() == ":::":
                    notice = False
                    lines.append("")
                else:
                    lines.append("> " + line if line.strip() else ">")
                continue
            if match := NOTICE.match(line):
                notice = True
                lines.append(f"> **{(match.group(1) or 'Note').capitalize()}:**")
                continue
            if match := CALLOUT.match(line):
                quote, kind, rest = match.groups()
                line = f"{quote}**{kind.capitalize()}:** {rest}".rstrip()
            lines.append(line)
        return self.html("\n".join(lines))

    def html(self, text: str) -> str:
        out, position = [], 0
        links: list[tuple[int, str]] = []  # the <a>s open: where in `out`, and their address
        unclosed: set[str] = set()  # dangerous tags never closed after some point
        while True:
            match = TAG.search(text, position)
            if match is None:
                out.append(text[position:])
                # A link opened and never closed: no bracket left hanging.
                return "".join(out).replace(LINK_OPEN, "")
            out.append(text[position : match.start()])
            position = match.end()
            closing, name, attrs, self_closing = match.groups()
            low = name.lower()
            if low in DANGEROUS and not closing:
                self.note("danger", f"<{low}>")
                if not self_closing and low not in unclosed:
                    end = re.compile(rf"</{re.escape(low)}\s*>", re.IGNORECASE).search(
                        text, position
                    )
                    if end is None:
                        unclosed.add(low)  # nor after any later one: not searched again
                    position = end.end() if end else position
                continue
            if name[0].isupper():
                self.note("jsx", f"<{name}>")
                continue
            if low == "a":  # a web link stays a link; any other keeps its words
                if not closing:
                    href = attributes(attrs).get("href", "").strip()
                    safe = re.match(r"^(https?:|mailto:)", href, re.IGNORECASE)
                    links.append((len(out), href if safe else ""))
                    out.append(LINK_OPEN if safe else "")
                elif links:
                    at, href = links.pop()
                    if href:
                        out[at] = "["
                        out.append(f"]({link_target(href)})")
                continue
            out.append(self.replacement(closing, low, attrs))

    def replacement(self, closing: str, name: str, attrs: str) -> str:
        if name in INLINE:
            return INLINE[name]
        if name == "br":
            return "  \n"
        if name == "img" and not closing:
            found = attributes(attrs)
            src = found.get("src", "")
            if src and not src.lower().startswith(("javascript:", "data:", "vbscript:")):
                return f"![{markdown_label(found.get('alt', ''))}]({link_target(src)})"
            return ""
        if re.fullmatch(r"h[1-6]", name):
            return "\n\n" if closing else "\n\n" + "#" * int(name[1]) + " "
        if name == "li":
            return "" if closing else "\n- "
        if name == "pre":
            return "\n```\n\n" if closing else "\n\n```\n"
        if name in BLOCK:
            self.note("html", name)
            return "\n\n" if name in ("p", "div", "section", "article", "table") else "\n"
        self.note("html", name)
        return ""


def markdown_label(text: str) -> str:
    return attachments.markdown_label(text)


def link_target(target: str) -> str:
    """A link target as Markdown writes it: in <…> if it has spaces."""
    return f"<{target}>" if re.search(r"[\s()]", target) else target


def plain(text: str) -> str:
    """Markdown inline text as plain words: a heading, a task (its first 1000 characters:
    longer, it is cut as a name anyway)."""
    text = text[:1000]
    text = re.sub(r"!\[([^\[\]]*)\]\([^()]*\)", r"\1", text)
    text = WIKI_LINK.sub(lambda m: m[3] or m[1] or m[2] or "", text)
    text = re.sub(r"\[([^\[\]]*)\]\([^()]*\)", r"\1", text)
    text = re.sub(r"<[^<>]*>", "", text)
    text = re.sub(r"(\*\*|__|~~|`)", "", text)
    text = re.sub(r"(?<![\w*])\*(?!\s)([^*]+)(?<!\s)\*", r"\1", text)
    return " ".join(text.replace("\\", "").split())


# ---------------------------------------------------------------------------------------------
# Links and pictures

# On one line, no brackets inside: a scan never runs on past the next bracket.
WIKI_EMBED = re.compile(r"!\[\[([^\[\]|#\n]+)(?:#[^\[\]|\n]*)?(?:\|([^\[\]\n]*))?\]\]")
WIKI_LINK = re.compile(r"\[\[([^\[\]|#\n]*)(?:#([^\[\]|\n]*))?(?:\|([^\[\]\n]*))?\]\]")
# [text](target "title") or ![alt](<target with spaces>)
MD_LINK = re.compile(
    r"(!?)\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*(<[^<>\n]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)"
    r"(\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)"
)


@dataclass
class Linker:
    """Resolves a file's links and pictures against the source."""

    key: str  # the file
    files: dict[str, bytes]
    by_name: dict[str, list[str]]  # a file's name (folded) → its paths (for Obsidian)
    used: set  # pictures some page shows
    item: Item
    folders: set = field(default_factory=set)  # every folder of the source, by its path
    taken: set = field(default_factory=set)  # the item's picture files (folded)
    attached: dict = field(default_factory=dict)  # picture path → file
    resolved: dict = field(default_factory=dict)  # link → path (or None), as found

    def resolve(self, target: str) -> str | None:
        """The path in the source a relative link points to, if the source has it."""
        if target not in self.resolved:
            self.resolved[target] = self.find(target)
        return self.resolved[target]

    def find(self, target: str) -> str | None:
        target = unquote(target.split("#", 1)[0].split("?", 1)[0]).replace("\\", "/")
        if not target:
            return None
        folder = PurePosixPath(self.key).parent
        parts: list[str] = [] if target.startswith("/") else list(folder.parts)
        for part in target.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if not parts:
                    return None
                parts.pop()
            else:
                parts.append(part)
        path = unicodedata.normalize("NFC", "/".join(parts))
        if path in self.files:
            return path
        found = self.by_name.get(PurePosixPath(path).name.casefold(), [])
        return found[0] if len(found) == 1 else None

    def picture(self, target: str, alt: str) -> str:
        """A picture as the SOP will show it (its words only if it cannot come along)."""
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):
            self.item.notes.append("a picture written into the page (not a file) was dropped")
            return alt or ""
        attached = self.attach(target)
        return f"![{alt}]({attached})" if attached else alt or ""

    def attach(self, target: str) -> str | None:
        """`attachment:<file>` for the picture `target` names, taken along; None (and
        listed as missing, with why) if it cannot come."""
        path = self.resolve(target)
        if path is None or kind_of(path) != "picture":
            self.item.missing.append(unquote(target))
            return None
        self.used.add(path)
        if path in self.attached:
            return PORTABLE + self.attached[path]
        data = self.files[path]
        name = attachments.clean_name(PurePosixPath(path).name)
        try:
            attachments.check(name, len(data), io.BytesIO(data))
        except ValidationError as error:
            self.item.missing.append(f"{path} ({' '.join(error.messages)})")
            return None
        file = unique_file_name(attachments.url_name(name), self.taken)
        self.attached[path] = file
        self.item.images.append((file, data))
        self.item.image_names[file] = name
        return PORTABLE + file

    def link(self, text: str, target: str) -> str:
        bare = target.strip()
        if re.match(r"^(https?:|mailto:|tel:|#)", bare, re.IGNORECASE):
            return f"[{text}]({link_target(bare)})"
        if re.match(r"^[a-z][a-z0-9+.-]*:", bare, re.IGNORECASE):
            return text  # javascript:, file:, another app's own links: the words only
        path = self.resolve(bare)
        if path is None:
            if not self.is_folder(bare):  # a link to a folder of pages is no loss
                self.item.missing.append(unquote(bare))
            return text
        if kind_of(path) == "picture":
            return self.picture(bare, text)
        return text  # another page of the source: its words (its address is not known yet)

    def is_folder(self, target: str) -> bool:
        return self.relative(target).rstrip("/") in self.folders

    def relative(self, target: str) -> str:
        """`target` as a path from the top of the source (not checked to exist)."""
        target = unquote(target.split("#", 1)[0]).replace("\\", "/")
        parts = [] if target.startswith("/") else list(PurePosixPath(self.key).parent.parts)
        for part in target.split("/"):
            if part == "..":
                if parts:
                    parts.pop()
            elif part not in ("", "."):
                parts.append(part)
        return unicodedata.normalize("NFC", "/".join(parts))

    def rewrite(self, text: str) -> str:
        def embed(match: re.Match) -> str:
            target = match.group(1).strip()
            if kind_of(target) == "picture":
                return self.picture(target, "")
            return plain(target)  # a page embedded in a page: its name

        def wiki(match: re.Match) -> str:
            page, heading, alias = match.groups()
            return plain(alias or page or heading or "")

        def md(match: re.Match) -> str:
            bang, text, target = match.group(1), match.group(2), match.group(3)
            target = target[1:-1] if target.startswith("<") else target
            if target.startswith(PORTABLE):
                return match.group(0)  # a picture found already (an embed)
            if bang:
                if re.match(r"^https?:", target, re.IGNORECASE):
                    return f"![{text}]({link_target(target)})"
                return self.picture(target, text)
            return self.link(text, target)

        def page_alone(match: re.Match) -> str:
            target = match.group(1).strip("<>")
            path = self.resolve(target) if not re.match(r"^[a-z]+:", target, re.I) else None
            return "" if path is not None and kind_of(path) == "markdown" else match.group(0)

        def definition(match: re.Match) -> str:
            target = match.group(2).strip("<>")
            if kind_of(target) != "picture" or re.match(r"^[a-z]+:", target, re.IGNORECASE):
                return match.group(0)
            attached = self.attach(target)
            return f"{match.group(1)}{attached}" if attached else ""

        # A line that only links another page (Notion lists a page's sub-pages so): the
        # pages are in the map already, under it.
        text = PAGE_ALONE.sub(page_alone, text)
        # [logo]: images/logo.png, for ![Logo][logo]
        text = DEFINITION.sub(definition, text)
        text = WIKI_EMBED.sub(embed, text)
        text = WIKI_LINK.sub(wiki, text)
        return MD_LINK.sub(md, text)


DEFINITION = re.compile(r"^( {0,3}\[[^\[\]\n]+\]:[ \t]*)(<[^<>\n]*>|\S+)", re.MULTILINE)
PAGE_ALONE = re.compile(r"^[ \t]*\[[^\[\]\n]*\]\((<[^<>\n]*>|[^\s()]+)\)[ \t]*$", re.MULTILINE)


# ---------------------------------------------------------------------------------------------
# Tasks

TASK = re.compile(r"^ {0,3}(?:\d{1,3}[.)]|[-*+] \[[ xX]\])[ \t]+(\S.*)$")
LIST_ITEM = re.compile(r"^ {0,3}(?:\d{1,3}[.)]|[-*+])[ \t]+\S")


def has_details(body: str) -> bool:
    """Whether a list of tasks has lines under its tasks (details a step's name cannot hold)."""
    in_task = False
    for line in body.split("\n"):
        if TASK.match(line):
            in_task = True
        elif in_task and line.strip() and line.startswith((" ", "\t")):
            return True
        elif line.strip():
            in_task = False
    return False


def tasks(body: str) -> list[str]:
    """The tasks of a file that is mainly an ordered list of them (or a checklist); [] if it
    is not."""
    found, task_lines, content = [], 0, 0
    in_task = False
    fence = False
    for line in body.split("\n"):
        if FENCE.match(line):
            fence = not fence
        if not line.strip():
            continue
        if line.lstrip().startswith("#") and not fence:
            continue  # headings are the list's frame, not its content
        if fence:
            content += 1
            continue
        content += 1
        if match := TASK.match(line):
            name = plain(match.group(1))
            if name:
                found.append(name)
            task_lines += 1
            in_task = True
        elif in_task and (line.startswith((" ", "\t")) or LIST_ITEM.match(line)):
            task_lines += 1  # the details of a task
        else:
            in_task = False
    if len(found) >= MIN_TASKS and task_lines >= TASK_SHARE * content:
        return found
    return []


# ---------------------------------------------------------------------------------------------
# The plan


@dataclass
class Node:
    """A folder of the source while the plan is made."""

    path: str
    folders: dict[str, Node] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    def has_markdown(self) -> bool:
        return bool(self.markdown()) or any(f.has_markdown() for f in self.folders.values())

    def markdown(self) -> list[str]:
        return [f for f in self.files if kind_of(f) == "markdown"]


def tree_of(paths) -> Node:
    top = Node("")
    for path in paths:
        parts = path.split("/")
        node = top
        for n, part in enumerate(parts[:-1]):
            node = node.folders.setdefault(part, Node("/".join(parts[: n + 1])))
        node.files.append(path)
    return top


def unwrap(files: dict[str, bytes], name: str) -> tuple[dict[str, bytes], str]:
    """Without the one folder everything sits in (a zip of a folder), named after it."""
    tops = {p.split("/", 1)[0] for p in files}
    if len(tops) == 1 and all("/" in p for p in files):
        top = tops.pop()
        return {p.split("/", 1)[1]: data for p, data in files.items()}, stem_title(top)
    return files, name


def plan(source: Source) -> Plan:
    """The items the source proposes, in tree order, with what is left behind and why."""
    files, name = unwrap(dict(source.files), source.name)
    left = list(source.left_behind)
    texts: dict[str, str] = {}
    for path in list(files):
        if kind_of(path) != "markdown":
            continue
        text = decode(files[path])
        if text is None:
            left.append((path, "not text (neither UTF-8 nor Windows-1252): it may be a binary"))
            del files[path]
        else:
            texts[path] = text
    by_name: dict[str, list[str]] = {}
    for path in files:
        by_name.setdefault(PurePosixPath(path).name.casefold(), []).append(path)
    planner = Planner(files, texts, by_name)
    planner.folder(tree_of(files), None)
    for path in files:
        if kind_of(path) == "picture" and path not in planner.used:
            left.append((path, "a picture that no page shows"))
    return Plan(name, planner.items, left)


@dataclass
class Planner:
    files: dict[str, bytes]
    texts: dict[str, str]
    by_name: dict[str, list[str]]
    items: list[Item] = field(default_factory=list)
    used: set = field(default_factory=set)
    keys: set = field(default_factory=set)
    folders: set = field(default_factory=set)

    def __post_init__(self) -> None:
        for path in self.files:
            parts = path.split("/")[:-1]
            self.folders.update("/".join(parts[: n + 1]) for n in range(len(parts)))

    def key(self, path: str) -> str:
        """The item's key: its path without Notion's ids, the raw path if two clash."""
        cleaned = "/".join(strip_id(PurePosixPath(p).stem)[0] + PurePosixPath(p).suffix
                           for p in path.split("/"))  # fmt: skip
        key = cleaned if cleaned.casefold() not in self.keys else path
        n = 2
        while key.casefold() in self.keys:
            key, n = f"{path} ({n})", n + 1
        self.keys.add(key.casefold())
        return key

    def read(self, path: str, key: str) -> Item:
        """A file as an item: its title, fields and cleaned body (its level set later)."""
        text = self.texts[path]
        fields, text, notes = read_front_matter(text)
        read = Read(notes=notes)
        read_fields(fields, read)
        cleaner = Cleaner()
        text = cleaner.clean(text)
        title, without = take_title(text)
        if not (read.title and title and read.title.casefold() != title.casefold()):
            text = without  # the heading is the title (a different one is kept as a heading)
        read.title = read.title or title
        stem = PurePosixPath(path).stem
        notion = strip_id(stem)[1]
        properties, text = take_properties(text, notion)
        read_fields(properties, read)
        body = text
        item = Item(
            key=key,
            parent=None,
            title=read.title or stem_title(stem),
            kind="file",
            level="sop",
            levels=list(FILE_LEVELS),
            outcome=cut(read.outcome, MAX_RESULT),
            estimated_minutes=read.estimated_minutes,
            owner_hint=cut(read.owner_hint, 200),
            tags=read.tags,
            notes=read.notes + cleaner.notes(),
        )
        if fields:
            item.notes.append("its front matter was read and removed")
        linker = Linker(path, self.files, self.by_name, self.used, item, self.folders)
        item.body = outside_code(body, linker.rewrite).strip("\n")
        item.body = item.body + "\n" if item.body.strip() else ""
        missing = list(dict.fromkeys(item.missing))
        if len(missing) > MAX_MISSING:
            more = len(missing) - MAX_MISSING
            missing = [*missing[:MAX_MISSING], f"… and {more} more"]
        item.missing = missing
        return item

    def folder(self, node: Node, parent: Item | None) -> None:
        """The items of a folder's folders and files, under `parent` (None: the top)."""
        folders = {n: f for n, f in node.folders.items() if f.has_markdown()}
        # A file beside a folder of the same name says what the folder is (Notion, Outline).
        described: dict[str, str] = {}
        files = []
        for path in sorted(node.markdown(), key=natural):
            stem = PurePosixPath(path).stem
            if stem in folders and stem not in described:
                described[stem] = path
            else:
                files.append(path)
        index = next((f for f in files if PurePosixPath(f).stem.casefold() in INDEX_NAMES), None)
        if index is not None and parent is not None:
            files.remove(index)
            self.describe(parent, index)
        for name in sorted(folders, key=natural):
            self.subfolder(folders[name], parent, described.get(name))
        for path in files:
            self.file(path, parent)

    def describe(self, folder: Item, path: str) -> None:
        """`path` says what `folder` is: its README, or the page beside it of the same name
        (which names it too). Its text is the folder's body: a system's purpose."""
        read = self.read(path, folder.key + "/" + PurePosixPath(path).name)
        stem = PurePosixPath(path).stem
        if read.title != stem_title(stem):
            folder.title = read.title  # its heading names the folder
        # A purpose shows no pictures: their words stay.
        folder.body = re.sub(
            r"!\[([^\]]*)\]\(" + re.escape(PORTABLE) + r"[^)]*\)", r"\1", read.body
        )
        folder.missing += read.missing
        folder.owner_hint = folder.owner_hint or read.owner_hint
        folder.tags += read.tags
        folder.notes.append(
            f"“{PurePosixPath(path).name}” says what the folder is: its text is the purpose"
        )
        if read.images:
            folder.notes.append("the pictures of a folder's description are not kept")

    def subfolder(self, node: Node, parent: Item | None, description: str | None) -> None:
        name = node.path.rsplit("/", 1)[-1]
        item = Item(
            key=self.key(node.path),
            parent=parent.key if parent else None,
            title=stem_title(name),
            kind="folder",
            level="system",
            levels=list(FOLDER_LEVELS),
        )
        self.items.append(item)
        if description is not None:
            self.describe(item, description)
        start = len(self.items)
        self.folder(node, item)
        inside = [i for i in self.items[start:] if i.parent == item.key]
        kept = [i for i in inside if i.level != "skip"]
        if (
            kept
            and not any(i.kind == "folder" for i in inside)
            and all(i.level == "sop" and len(i.body) <= SHORT_FILE_CHARS for i in kept)
            and len(kept) >= 2
        ):
            item.level = "process"
            item.notes.append(
                f"a folder of {len(kept)} short files: a process whose files are its steps"
            )
            for each in kept:
                each.level = "step"

    def file(self, path: str, parent: Item | None) -> None:
        item = self.read(path, self.key(path))
        item.parent = parent.key if parent else None
        if parent is None and PurePosixPath(path).stem.casefold() in INDEX_NAMES:
            item.level = "skip"
            item.notes.append("it describes the whole source, not a task: choose SOP to keep it")
        elif not item.body.strip() and not item.outcome:
            item.level = "skip"
            item.notes.append("empty: nothing to import")
        elif (steps := tasks(item.body)) and item.estimated_minutes:
            # A recipe's numbered instructions, done in the one sitting the file states.
            item.steps = steps
            item.notes.append(
                f"a numbered list done in one sitting ({item.estimated_minutes} minutes): an SOP; "
                "as a process its list would be the steps"
            )
        elif steps:
            item.level, item.steps = "process", steps
            item.notes.append(f"mainly a list of {len(steps)} tasks: a process with those steps")
            if has_details(item.body):
                item.notes.append(
                    "the lines under its tasks are not kept (a step is a name): "
                    "as an SOP it keeps them"
                )
        self.items.append(item)


# ---------------------------------------------------------------------------------------------
# Owners


def match_owner(hint: str, people) -> str | None:
    """The username of the one active person `hint` names: by email, username or full name."""
    hint = " ".join((hint or "").split())
    if not hint:
        return None
    email = re.search(r"[^\s<>@,;]+@[^\s<>@,;]+\.[^\s<>@,;]+", hint)
    wanted = hint.casefold()
    name = re.sub(r"<[^>]*>|\([^)]*\)", "", hint).strip().casefold()
    found = []
    for person in people:
        if not person.is_active:
            continue
        full = f"{person.first_name} {person.last_name}".strip().casefold()
        if (
            (email and person.email and person.email.casefold() == email.group(0).casefold())
            or person.username.casefold() in (wanted, name)
            or (full and full in (wanted, name))
        ):
            found.append(person.username)
    found = list(dict.fromkeys(found))
    return found[0] if len(found) == 1 else None


# ---------------------------------------------------------------------------------------------
# The document


@dataclass
class Builder:
    plan: Plan
    levels: dict[str, str]
    owners: dict[str, str | None]
    into: tuple[str, ...]
    default_owner: str | None
    doc: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    children: dict = field(default_factory=dict)
    # Names taken in each parent, folded: ("system", path) → names; ("process", key) → …
    taken: dict = field(default_factory=dict)
    top_system: tuple[str, ...] | None = None
    loose: dict = field(default_factory=dict)  # system path → its process for loose SOPs
    # What the map holds already: (kind, parent) → {folded name: its source}. A name held by
    # something that did not come from the same file is not taken over: the import makes
    # "Name (2)" beside it rather than overwrite what was made by hand or from elsewhere.
    existing: dict = field(default_factory=dict)

    def load_existing(self) -> None:
        from processes.models import Process, Step
        from sops.models import SOP
        from systems.models import System
        from systems.tree import system_paths

        paths = system_paths()
        with_sop: dict[int, str] = {}  # step → the source of its SOP
        systems = list(System.objects.only("name", "parent", "source"))
        processes = {}
        # A system with no source of its own that holds what came from files is one an import
        # made to hold a source's loose files: ROOT, which the same source finds again.
        holding = set()
        for process in Process.objects.only("system", "name", "source"):
            path = paths[process.system_id]
            names = self.existing.setdefault(("process", path), {})
            names[process.name.casefold()] = process.source
            processes[process.pk] = (path, process.name)
            if process.source.startswith("file:"):
                holding.add(process.system_id)
        holding |= {s.parent_id for s in systems if s.source.startswith("file:")}
        for system in systems:
            names = self.existing.setdefault(("system", paths[system.pk][:-1]), {})
            source = system.source or (ROOT if system.pk in holding else None)
            names[system.name.casefold()] = source
        for sop in SOP.objects.only("process", "title", "source", "step"):
            names = self.existing.setdefault(("sop", processes[sop.process_id]), {})
            names[sop.title.casefold()] = sop.source
            if sop.step_id is not None:
                with_sop[sop.step_id] = sop.source
        # A step is taken only by its SOP (a step has one): one whose SOP came from elsewhere.
        for step in Step.objects.filter(pk__in=with_sop).only("process", "name"):
            names = self.existing.setdefault(("step", processes[step.process_id]), {})
            names[step.name.casefold()] = with_sop[step.pk]

    def name(self, kind: str, parent, title: str, source: str) -> str:
        """`title` as the name of a new or updated `kind` in `parent`, unique there."""
        held = self.existing.get((kind, parent), {})
        blocked = frozenset(name for name, its in held.items() if its != source)
        return unique(title, self.names(kind, parent), MAX_NAME[kind], blocked)

    def level(self, item: Item) -> str:
        chosen = self.levels.get(item.key, item.level)
        if chosen not in item.levels and chosen != item.level:
            self.problems.append(
                f"{item.title}: cannot be {article(chosen)} (it may be "
                f"{', '.join(item.levels)}); kept as {article(item.level)}"
            )
            return item.level
        return chosen

    def owner(self, item: Item) -> str | None:
        return self.owners.get(item.key) or self.default_owner

    def owned(self, item: Item | None) -> dict:
        """{"owner": …} when the file or the founder names one; nothing otherwise, so a
        re-import keeps the owner chosen in the app since (exchange.given)."""
        owner = self.owner(item) if item else self.default_owner
        return {"owner": owner} if owner else {}

    def names(self, kind: str, parent) -> set:
        return self.taken.setdefault((kind, parent), set())

    def source(self, key: str) -> str:
        return "file:" + key[:MAX_SOURCE]

    def root_source(self) -> str:
        """The source of the process an import makes for the source's loose files (in the
        system named after it, or the one imported into): its name and a slash, which no
        file's path ends in. (That system itself has none: it is no file.)"""
        return self.source(self.plan.source_name[: MAX_SOURCE - 1] + "/")

    def build(self) -> tuple[dict, list[str]]:
        self.doc = {
            "format": FORMAT,
            "version": VERSION,
            "systems": [],
            "processes": [],
            "steps": [],
            "sops": [],
        }
        for item in self.plan.items:
            self.children.setdefault(item.parent, []).append(item)
        self.load_existing()
        self.place(None, self.into or None, None)
        return self.doc, self.problems

    def source_system(self) -> tuple[str, ...]:
        """The system that holds what sits at the top but is not a system."""
        if self.into:
            return self.into
        if self.top_system is None:
            name = self.name("system", (), self.plan.source_name, ROOT)
            self.top_system = (name,)
            # The source's own README, not imported as an SOP, says what the system is.
            index = next(
                (
                    i
                    for i in self.children.get(None, [])
                    if i.kind == "file"
                    and PurePosixPath(i.key).stem.casefold() in INDEX_NAMES
                    and self.levels.get(i.key, i.level) == "skip"
                ),
                None,
            )
            self.doc["systems"].append(
                {
                    "path": [name],
                    **({"purpose": index.body} if index else {}),
                    **self.owned(None),
                }
            )
        return self.top_system

    def place(self, parent_key, system: tuple[str, ...] | None, process: dict | None) -> None:
        """The items inside `parent_key`, in `system` (None: at the top with no `into`), or in
        `process` (a folder read as a process)."""
        for item in self.children.get(parent_key, []):
            level = self.level(item)
            if level == "skip":
                continue
            if item.kind == "folder":
                self.folder(item, level, system, process)
            else:
                self.file(item, level, system, process)

    def folder(self, item: Item, level: str, system, process) -> None:
        if process is not None:
            self.problems.append(
                f"{item.title}: a process can't hold a {level}; it is left out with what it holds"
            )
            return
        if level == "system":
            parent = system or ()
            name = self.name("system", parent, item.title, self.source(item.key))
            path = (*parent, name)
            self.doc["systems"].append(
                {
                    "path": list(path),
                    **({"purpose": item.body} if item.body else {}),
                    **self.owned(item),
                    "source": self.source(item.key),
                }
            )
            self.place(item.key, path, None)
        else:  # a process
            system = system or self.source_system()
            made = self.process(item.title, system, item, cut(plain(item.body), MAX_RESULT))
            self.place(item.key, system, made)

    def process(self, title: str, system, item: Item | None, result: str = "") -> dict:
        source = self.source(item.key) if item else self.root_source()
        made = {
            "system": list(system),
            "name": self.name("process", tuple(system), title, source),
            **({"result": result} if result else {}),
            **self.owned(item),
            "source": source,
        }
        self.doc["processes"].append(made)
        return made

    def loose_process(self, system: tuple[str, ...], parent_key) -> dict:
        """The process holding the SOPs that sit loose in a system."""
        if system not in self.loose:
            folder = self.plan.item(parent_key) if parent_key else None
            title = folder.title if folder else self.plan.source_name
            self.loose[system] = self.process(title, system, folder)
            said = f"its SOPs go into one process named “{title}”"
            if folder is not None and said not in folder.notes:
                folder.notes.append(said)
        return self.loose[system]

    def file(self, item: Item, level: str, system, process) -> None:
        # Not chosen for itself, a file follows its folder: in a folder made a process it is
        # a step with its SOP; in one made a system, an SOP.
        chosen = item.key in self.levels
        if level == "step" and process is None:
            if chosen:
                self.problems.append(
                    f"{item.title}: a step needs a process around it; it is an SOP"
                )
            level = "sop"
        if level in ("process", "sop") and process is not None and not chosen:
            level = "step"
        if level == "process" and process is not None:
            self.problems.append(
                f"{item.title}: a process can't hold a process; it is a step with its SOP"
            )
            level = "step"
        if level == "system":
            self.problems.append(f"{item.title}: a file is not a system; it is an SOP")
            level = "sop"
        if level == "process":
            if not item.steps:
                self.problems.append(
                    f"{item.title}: it is no list of tasks, so as a process it has no steps "
                    "and its text is not kept; an SOP keeps it"
                )
            system = system or self.source_system()
            made = self.process(item.title, system, item, item.outcome or lead(item.body))
            taken = self.names("step", (tuple(system), made["name"]))
            for task in item.steps:
                self.doc["steps"].append(
                    {
                        "system": list(system),
                        "process": made["name"],
                        "name": unique(task, taken, MAX_NAME["step"]),
                    }
                )
            return
        step = None
        if process is None:
            system = system or self.source_system()
            process = self.loose_process(tuple(system), item.parent)
        elif level == "step":
            parent = (tuple(process["system"]), process["name"])
            step = self.name("step", parent, item.title, self.source(item.key))
            self.doc["steps"].append(
                {
                    "system": process["system"],
                    "process": process["name"],
                    "name": step,
                    **self.owned(item),
                }
            )
        self.sop(item, process, step)

    def sop(self, item: Item, process: dict, step: str | None) -> None:
        parent = (tuple(process["system"]), process["name"])
        made = {
            "system": process["system"],
            "process": process["name"],
            "step": step,
            "title": self.name("sop", parent, item.title, self.source(item.key)),
            **self.owned(item),
            # What the file does not state is left out: a re-import keeps what was stated in
            # the app since (exchange.given).
            **({"outcome": item.outcome} if item.outcome else {}),
            **({"estimated_minutes": item.estimated_minutes} if item.estimated_minutes else {}),
            "body": item.body,
            "source": self.source(item.key),
        }
        if item.images:
            made["attachments"] = [
                {
                    "file": file,
                    "name": item.image_names.get(file, file),
                    "data": base64.b64encode(data).decode("ascii"),
                }
                for file, data in item.images
            ]
        self.doc["sops"].append(made)


# What an existing system made by an import to hold a source's loose files is known by.
ROOT = "(a source's own system)"


def lead(body: str) -> str:
    """The first paragraph of a file read as a process, before its list: its result."""
    for paragraph in re.split(r"\n[ \t]*\n", body[:5000]):
        first = paragraph.lstrip()
        if (
            first
            and not first.startswith(("#", ">", "|", "```", "~~~"))
            and not LIST_ITEM.match(first)
        ):
            return cut(plain(paragraph), MAX_RESULT)
    return ""


def article(level: str) -> str:
    return {"sop": "an SOP", "skip": "skipped"}.get(level, f"a {level}")


def to_document(
    plan: Plan,
    *,
    levels: dict[str, str] | None = None,
    owners: dict[str, str | None] | None = None,
    into: tuple[str, ...] = (),
    default_owner: str | None = None,
) -> tuple[dict, list[str]]:
    """The map document for the plan at the levels chosen (`levels` by key; the proposed ones
    otherwise), and the problems of those levels (each said with what was done instead).

    `into`: the path of an existing system to import under. What sits at the top of the
    source and is not a system goes into it, or, with no `into`, into a system named after the
    source. `owners` by key (a username, or None for `default_owner`)."""
    builder = Builder(plan, levels or {}, owners or {}, tuple(into), default_owner)
    return builder.build()


# ---------------------------------------------------------------------------------------------
# What an import will do


def what_changes(doc: dict) -> dict[str, list[str]]:
    """What storing `doc` creates and what it updates (found by name, or by its source file
    after a rename), told before it is stored: {"created": [...], "updated": [...]}, each
    "system “Sales › Leads”", "process “Onboarding”", "step …", "SOP …"."""
    from processes.models import Process, Step
    from sops.models import SOP
    from systems.models import System
    from systems.tree import system_paths

    created: list[str] = []
    updated: list[str] = []

    def tell(found, what: str) -> None:
        (updated if found else created).append(what)

    systems = {path: pk for pk, path in system_paths().items()}
    by_source = {(s.parent_id, s.source): s.pk for s in System.objects.exclude(source="")}
    for item in doc.get("systems", []):
        path = tuple(item["path"])
        parent = systems.get(path[:-1]) if len(path) > 1 else None
        pk = systems.get(path)
        if pk is None and item.get("source") and (len(path) == 1 or parent is not None):
            pk = by_source.get((parent, item["source"]))
        if pk is not None:
            systems[path] = pk
        tell(pk, f"system “{' › '.join(path)}”")
    processes = {(p.system_id, p.name): p.pk for p in Process.objects.only("system", "name")}
    by_source = {(p.system_id, p.source): p.pk for p in Process.objects.exclude(source="")}
    found: dict[tuple, int] = {}
    for item in doc.get("processes", []):
        system = systems.get(tuple(item["system"]))
        pk = processes.get((system, item["name"])) or by_source.get((system, item.get("source")))
        if pk is not None:
            found[(tuple(item["system"]), item["name"])] = pk
        tell(pk, f"process “{item['name']}”")
    steps = set(Step.objects.values_list("process_id", "name"))
    for item in doc.get("steps", []):
        process = found.get((tuple(item["system"]), item["process"]))
        tell((process, item["name"]) in steps, f"step “{item['name']}” of “{item['process']}”")
    sops = {(s.process_id, s.title) for s in SOP.objects.only("process", "title")}
    by_source = {(s.process_id, s.source) for s in SOP.objects.exclude(source="")}
    for item in doc.get("sops", []):
        process = found.get((tuple(item["system"]), item["process"]))
        known = (process, item["title"]) in sops or (process, item.get("source")) in by_source
        tell(process is not None and known, f"SOP “{item['title']}”")
    return {"created": created, "updated": updated}


def skipped(plan: Plan, levels: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """The items left out at the levels chosen, with why (what the plan says of them)."""
    levels = levels or {}
    out = []
    for item in plan.items:
        if levels.get(item.key, item.level) == "skip":
            why = next((n for n in item.notes if "empty" in n or "describes" in n), "")
            out.append((item.key, why or "skipped in the preview"))
    return out


def scope_checks(doc: dict) -> list[str]:
    """The source's scope checks on the SOPs the document would create, the ones that say an
    SOP is more than one task (more than one sitting, hand-offs, too many instructions):
    such a file may be a process. Each "SOP “title”: what was found"."""
    from sops.health import RULE_SPLIT, first_names, sop_findings
    from sops.models import SOP

    names = first_names()
    found = []
    for item in doc.get("sops", []):
        # Unsaved, never stored: the checks read only its fields.
        sop = SOP(
            title=item["title"],
            outcome=item.get("outcome") or "",
            estimated_minutes=item.get("estimated_minutes"),
            body=item.get("body") or "",
        )
        for message, rule, *_ in sop_findings(sop, names):
            if rule == RULE_SPLIT:
                found.append(f"SOP “{item['title']}”: {message} It may be a process.")
    return found
