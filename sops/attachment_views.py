"""Pictures and files of an SOP: uploaded from its editor (or the form on its page), served to
those who may read it, deleted by those who may change it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from opsmodel.access import get_or_404
from opsmodel.htmx import go_to
from opsmodel.pages import breadcrumbs, confirm_delete, deleted
from sops import attachments
from sops.models import SOP, Attachment
from sops.views import get_sop


def may_attach(user, sop: SOP) -> bool:
    """Those who may change the SOP attach to it and delete what is attached."""
    return user.has_perm("sops.change_sop")


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@login_required
@require_POST
def attach(request: HttpRequest, pk: int) -> HttpResponse:
    """Upload one picture or file; answered with the Markdown that links it (the editor puts it
    at the cursor), or, from the plain form on the SOP's page, back to the page."""
    sop = get_sop(request.user, pk)
    if not may_attach(request.user, sop):
        raise PermissionDenied
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise ValidationError(
                f"Choose a picture or file to attach: {attachments.limits_text()}."
            )
        attachment = attachments.attach(sop, upload, request.user)
    except ValidationError as error:
        message = " ".join(error.messages)
        if wants_json(request):
            return JsonResponse({"error": message}, status=400)
        return go_to(request, sop.get_absolute_url() + "#files", notice=message, push=False)
    if wants_json(request):
        answer = {
            "name": attachment.name,
            "url": attachment.get_absolute_url(),
            "image": attachment.is_image,
            "markdown": attachments.markdown_for(attachment),
        }
        return JsonResponse(answer, status=201)
    notice = f"Attached “{attachment.name}”. Link it from the instructions: edit the SOP."
    return go_to(request, sop.get_absolute_url() + "#files", notice=notice, push=False)


def get_attachment(user, pk, attachment_pk) -> Attachment:
    """An SOP's attachment, for someone who may read the SOP: 403 without the right, 404 if
    either is not there (or the file is another SOP's)."""
    sop = get_sop(user, pk)
    return get_or_404(Attachment.objects.filter(sop=sop).select_related("sop"), attachment_pk)


@login_required
@require_GET
def attachment(request: HttpRequest, pk: int, attachment_pk: int, name: str) -> HttpResponse:
    """The file itself. Pictures are shown in the page, with their real type and no sniffing;
    everything else downloads. Only the reader's browser keeps a copy (private caching)."""
    found = get_attachment(request.user, pk, attachment_pk)
    try:
        stored = found.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file is missing from the storage") from None
    response = FileResponse(
        stored,
        as_attachment=not found.is_image,
        filename=found.name,
        content_type=found.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    # Opened on its own, the file is never a page: no script, no plugin, no form.
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    patch_cache_control(response, private=True, max_age=600)
    patch_vary_headers(response, ["Cookie"])
    return response


@login_required
@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, pk: int, attachment_pk: int) -> HttpResponse:
    """Asks first (GET), deletes on POST; links to it in the instructions then lead nowhere,
    which the question says."""
    found = get_attachment(request.user, pk, attachment_pk)
    sop = found.sop
    if not may_attach(request.user, sop):
        raise PermissionDenied
    back = sop.get_absolute_url()
    linked = any(
        (int(m.group(1)), int(m.group(2))) == (sop.pk, found.pk)
        for m in attachments.URL_IN_TEXT.finditer(sop.body or "")
    )
    if linked and sop.needs_review():
        # Taking away a picture the instructions show changes the recipe, which in this
        # system changes only through an approved suggestion (SOP.check_reviewed).
        raise PermissionDenied(
            "The instructions show this file and this system reviews changes to them: suggest "
            "an edit that takes the link out; once it is approved, the file can go."
        )
    if request.method == "POST":
        found.delete()
        return go_to(request, back + "#files", notice=deleted(found))
    keeps = (
        "The instructions link to it: the link will lead nowhere until you remove it in the "
        "edit form."
        if linked
        else "The instructions do not link to it."
    )
    return confirm_delete(
        request,
        found,
        "file",
        back,
        keeps=keeps,
        sop=sop,
        process=sop.process,
        **breadcrumbs(sop.process.system),
    )
