"""The inbox (what you were told, the bell's count), your notification preferences, and the
unsubscribe link of every email, which works without logging in."""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Min, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from opsmodel import mapcache
from opsmodel.access import plain_id
from opsmodel.htmx import go_to, render_page, safe_next
from opsmodel.notify.forms import PreferencesForm
from opsmodel.notify.mail import KEEP_DAYS, read_unsubscribe_token
from opsmodel.notify.models import Kind, Notification, Preferences, preferences_of
from opsmodel.prepared import prepared

PER_PAGE = 30


# How long an item stays in the inbox.
IN_THE_INBOX = datetime.timedelta(days=KEEP_DAYS)


def inbox_of(user):
    """What `user` was told, in the last KEEP_DAYS (digests are emails, not inbox items)."""
    return inbox_since(user.pk, timezone.now() - IN_THE_INBOX)


def inbox_since(person_id: int, since: datetime.datetime) -> QuerySet[Notification]:
    notes = Notification.objects.filter(person_id=person_id, created_at__gte=since)
    return notes.exclude(kind=Kind.DIGEST)


@prepared
def unread_since(person_id: int, since: datetime.datetime) -> QuerySet:
    """How many of what a person was told since then they have not read, and when the first
    of those came: [(n, first)], or []."""
    unread = inbox_since(person_id, since).filter(read_at__isnull=True).order_by()
    counted = unread.values("person").annotate(n=Count("pk"), first=Min("created_at"))
    return counted.values_list("n", "first")


# Each person's unread count, with when it stops holding by the clock alone: kept until
# anything is written to anyone's inbox (its stamp, opsmodel.mapcache.INBOX) or the first
# unread item leaves the inbox. Every whole page shows it (the bell): it was a query on each.
UNREAD: mapcache.Store[tuple[int, datetime.datetime | None]] = mapcache.Store(4096)


def unread_count(user) -> int:
    """How many items of `user`'s inbox they have not read (the header's bell)."""

    def count() -> tuple[int, datetime.datetime | None]:
        found = unread_since(user.pk, timezone.now() - IN_THE_INBOX)
        if not found:
            return 0, None
        n, first = found[0]
        return n, first + IN_THE_INBOX  # then it is no longer in the inbox, nor counted

    n, _until = mapcache.kept_for_map(
        ("unread", user.pk),
        count,
        UNREAD,
        topics=(mapcache.INBOX,),
        holds=lambda kept: kept[1] is None or timezone.now() < kept[1],
    )
    return n


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    notes = inbox_of(request.user).select_related("by")
    unread = request.GET.get("show") == "unread"
    if unread:
        notes = notes.filter(read_at__isnull=True)
    page = Paginator(notes, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page_title": "Inbox",
        "page": page,
        "notes": page.object_list,
        "unread_only": unread,
        "unread_total": inbox_of(request.user).filter(read_at__isnull=True).count(),
    }
    return render_page(request, "notify/inbox.html", context)


def own_note(request: HttpRequest, pk: str) -> Notification:
    """One of the person's own notifications; anyone else's is not found."""
    pk = plain_id(pk)
    return get_object_or_404(inbox_of(request.user), pk=pk)


@login_required
@require_POST
def open_note(request: HttpRequest, pk: str) -> HttpResponse:
    """Follow a notification: read now, then where it leads (a POST: it changes something)."""
    note = own_note(request, pk)
    if note.read_at is None:
        Notification.objects.filter(pk=note.pk).update(read_at=timezone.now())
    return go_to(request, note.url or reverse("notify:inbox"))


@login_required
@require_POST
def mark_read(request: HttpRequest, pk: str) -> HttpResponse:
    """Read (or unread again, `unread=1`)."""
    note = own_note(request, pk)
    again = request.POST.get("unread") == "1"
    Notification.objects.filter(pk=note.pk).update(read_at=None if again else timezone.now())
    notice = "Marked as unread." if again else "Marked as read."
    return go_to(request, safe_next(request, "/inbox/"), push=False, notice=notice)


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    count = inbox_of(request.user).filter(read_at__isnull=True).update(read_at=timezone.now())
    notice = f"{count} marked as read." if count else "Nothing was unread."
    return go_to(request, safe_next(request, "/inbox/"), push=False, notice=notice)


@login_required
@require_POST
def preferences(request: HttpRequest) -> HttpResponse:
    """Your own preferences (nobody sets another's: the Django admin can, for an admin)."""
    prefs = preferences_of(request.user)
    form = PreferencesForm(request.POST, instance=prefs)
    if form.is_valid():
        form.save()
        return go_to(
            request, request.user.get_absolute_url() + "#notifications", notice="Preferences saved."
        )
    context = {
        "page_title": "Notification preferences",
        "form": form,
        "person": request.user,
    }
    return render_page(request, "notify/preferences_page.html", context, status=400)


@csrf_exempt  # the signed token is the proof; mail clients post here with no cookie (RFC 8058)
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET: the question, with a button. POST: done (also the one-click POST of a mail client)."""
    found = read_unsubscribe_token(token)
    person = None
    if found:
        person = get_user_model().objects.filter(pk=found[0]).first()
    if person is None:
        raise Http404("This unsubscribe link is not valid (it may have been cut short).")
    kind = found[1]
    context = {"page_title": "Unsubscribe", "person": person, "kind": Kind(kind), "token": token}
    if request.method == "POST":
        Preferences.stop(person, kind)
        context["done"] = True
    return render(request, "notify/unsubscribe.html", context)
