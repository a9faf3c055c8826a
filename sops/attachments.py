"""Pictures and files attached to an SOP: what may be attached, checked by its bytes.

A file is taken for what its bytes are, not for what its name or the browser says: a PNG must
start as PNGs do, a .docx must be a zip holding a Word document, a .txt must be text. What is
not on the lists (SVG and HTML above all, which a browser would run as a page) is refused, and
the content type stored, and served, is the one that goes with the kind found here.
"""

from __future__ import annotations

import base64
import re
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils.text import slugify

MB = 1024 * 1024

# Each kind: its content type, and whether it is a picture (shown in the page) or a file
# (downloaded). Which kinds may be attached is the settings' to say (ATTACHMENT_IMAGE_TYPES,
# ATTACHMENT_FILE_TYPES); a kind must be here to be known at all.
KINDS = {
    "png": ("image/png", True),
    "jpeg": ("image/jpeg", True),
    "gif": ("image/gif", True),
    "webp": ("image/webp", True),
    "pdf": ("application/pdf", False),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", False),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", False),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", False),
    "csv": ("text/csv", False),
    "txt": ("text/plain", False),
    "zip": ("application/zip", False),
}
EXTENSIONS = {"jpg": "jpeg", "jpe": "jpeg"}  # other names of a kind

# Where an Office document keeps its content inside its zip.
OFFICE_PART = {"docx": "word/", "xlsx": "xl/", "pptx": "ppt/"}


@dataclass
class Checked:
    """What an upload turned out to be."""

    kind: str
    content_type: str
    image: bool


def size_text(size: int) -> str:
    """A size as people read it: "10 MB", "2.4 MB", "300 KB"."""
    if size >= MB:
        return f"{size / MB:.1f}".removesuffix(".0") + " MB"
    return f"{max(1, round(size / 1024))} KB"


def limits_text() -> str:
    """What may be attached, in words, for help texts and refusals."""
    images = ", ".join(settings.ATTACHMENT_IMAGE_TYPES).upper()
    files = ", ".join(settings.ATTACHMENT_FILE_TYPES).upper()
    return (
        f"pictures ({images}) up to {size_text(settings.ATTACHMENT_IMAGE_MAX_BYTES)}, "
        f"files ({files}) up to {size_text(settings.ATTACHMENT_FILE_MAX_BYTES)}"
    )


def kind_of_name(name: str) -> str:
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return EXTENSIONS.get(extension, extension)


def bytes_are(kind: str, head: bytes, data_file) -> bool:
    """Whether the bytes are of `kind`: `head` is the file's first bytes, `data_file` the
    whole file (read only for zips and text)."""
    if kind == "png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if kind == "jpeg":
        return head.startswith(b"\xff\xd8\xff")
    if kind == "gif":
        return head[:6] in (b"GIF87a", b"GIF89a")
    if kind == "webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if kind == "pdf":
        return head.startswith(b"%PDF-")
    if kind in ("zip", *OFFICE_PART):
        if not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
            return False
        try:
            data_file.seek(0)
            names = zipfile.ZipFile(data_file).namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            return False
        finally:
            data_file.seek(0)
        return kind == "zip" or any(n.startswith(OFFICE_PART[kind]) for n in names)
    if kind in ("csv", "txt"):
        data_file.seek(0)
        data = data_file.read()
        data_file.seek(0)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return False
        return "\x00" not in text
    return False


def check(name: str, size: int, data_file) -> Checked:
    """What the upload is, or a ValidationError saying, in plain words, why it is refused."""
    kind = kind_of_name(name)
    allowed_images = set(settings.ATTACHMENT_IMAGE_TYPES)
    allowed_files = set(settings.ATTACHMENT_FILE_TYPES)
    if kind not in KINDS or kind not in allowed_images | allowed_files:
        shown = f"“.{name.rsplit('.', 1)[-1]}” files" if "." in name else "files without a type"
        raise ValidationError(
            f"{shown} cannot be attached. You can attach {limits_text()}.", code="kind"
        )
    content_type, image = KINDS[kind]
    limit = settings.ATTACHMENT_IMAGE_MAX_BYTES if image else settings.ATTACHMENT_FILE_MAX_BYTES
    if size > limit:
        what = "A picture" if image else "A file"
        raise ValidationError(
            f"“{name}” is {size_text(size)}; {what.lower()} may be at most {size_text(limit)}. "
            f"{what} that size is best linked from where it is kept.",
            code="size",
        )
    if size == 0:
        raise ValidationError(f"“{name}” is empty: nothing to attach.", code="empty")
    data_file.seek(0)
    head = data_file.read(16)
    data_file.seek(0)
    if not bytes_are(kind, head, data_file):
        raise ValidationError(
            f"“{name}” is not the {kind.upper()} its name says: its contents are of another "
            "kind. Save it again as a real one and attach that.",
            code="sniff",
        )
    return Checked(kind, content_type, image)


def clean_name(name: str) -> str:
    """The name as people see it: no folders, no control characters, at most 200 characters."""
    name = re.split(r"[\\/]", name or "")[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip() or "file"
    if len(name) > 200:
        stem, dot, extension = name.rpartition(".")
        name = (stem[: 199 - len(extension)] + dot + extension) if dot else name[:200]
    return name


def url_name(name: str) -> str:
    """The name in the file's address: letters, digits and dashes, and its extension."""
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    slug = slugify(stem)[:60].strip("-") or "file"
    extension = re.sub(r"[^a-z0-9]", "", extension.lower())[:10]
    return f"{slug}.{extension}" if extension else slug


def markdown_label(name: str) -> str:
    """A name as the text of a Markdown link or a picture's alt text, on one line."""
    return re.sub(r"([\\`*_\[\]<>!])", r"\\\1", " ".join(name.split()))


def markdown_for(attachment) -> str:
    """What the editor inserts at the cursor: the picture, or a link to the file."""
    label = markdown_label(attachment.name)
    url = attachment.get_absolute_url()
    return f"![{label}]({url})" if attachment.is_image else f"[{label}]({url})"


def attach(sop, upload, by) -> object:
    """Store `upload` (a Django UploadedFile, or a ContentFile with a name) as an attachment
    of `sop`, checked first; ValidationError if refused."""
    from sops.models import Attachment

    name = clean_name(upload.name)
    checked = check(name, upload.size, upload)
    attachment = Attachment(
        sop=sop, name=name, size=upload.size, content_type=checked.content_type, uploaded_by=by
    )
    attachment.file.save(name, upload, save=False)
    try:
        attachment.save()
    except Exception:
        attachment.file.delete(save=False)  # no row, so no file either
        raise
    return attachment


def from_base64(name: str, data: str) -> ContentFile:
    """A file carried in an exported map; ValueError if `data` is not base64."""
    content = base64.b64decode(data.encode("ascii"), validate=True)
    return ContentFile(content, name=name)


def to_base64(attachment) -> str:
    return base64.b64encode(read_all(attachment)).decode("ascii")


def url_of(sop_pk: int, attachment_pk: int, name: str) -> str:
    return reverse("sops:file", args=[sop_pk, attachment_pk, url_name(name)])


# The address of an attachment in a body: the path part of what `url_of` gives.
URL_IN_TEXT = re.compile(r"/sops/(\d+)/files/(\d+)/[A-Za-z0-9._-]*")


def read_all(attachment) -> bytes:
    with attachment.file.open("rb") as stored:
        return stored.read()
