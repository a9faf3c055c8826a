"""The views that write, written once: new, edit (and restore from history), delete and move.

Each level's view is a small subclass that says only what differs: how to fetch its object
(with the right to act on it), its form, the permission a new one needs, what its pages say,
where to go after. The skeleton does the rest the same way everywhere: logging in is checked
first, then the method, then the permission, then the object's own right (htmx partials
included); a form is swapped in place or shown as its own page (`render_form`); after a write,
htmx navigation or a redirect, with what was done in the status line (`go_to`).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views import View
from django.views.decorators.http import require_http_methods

from opsmodel import history_views
from opsmodel.access import move_direction
from opsmodel.htmx import go_to, is_inline, map_changed, notify, safe_next
from opsmodel.pages import (
    SAVED,
    confirm_delete,
    created,
    deleted,
    keeps_typing_if_gone,
    name_of,
    render_form,
)


class WriteView(View):
    """Log in first, then the method, then `permission`: the order of every view of the app."""

    methods = ("GET", "POST")
    # The model permission needed before anything is fetched; the object's fetch checks its own.
    permission = ""
    # What the object is called on its pages ("system", "SOP").
    kind = ""

    @staticmethod
    def fetch(user, pk, action: str = "view"):
        """The object with the right to `action` on it: 403 without, 404 if it does not exist."""
        raise NotImplementedError

    @classmethod
    def as_view(cls, **initkwargs):
        view = cls.decorate(super().as_view(**initkwargs))
        if cls.permission:
            view = permission_required(cls.permission, raise_exception=True)(view)
        return login_required(require_http_methods(list(cls.methods))(view))

    @classmethod
    def decorate(cls, view):
        """What a kind of view adds around its own work, inside the checks."""
        return view

    def back(self, obj) -> str:
        """The page that shows the object: where Cancel goes, and a save."""
        return obj.get_absolute_url()


class NewView(WriteView):
    """The form for a new object; once saved, its page (or `after`)."""

    # What the page says the object is for, under its title.
    intro = ""

    def get_form(self):
        """The form, with what the address says the object goes in (kept on `self`)."""
        raise NotImplementedError

    def context(self, form) -> dict:
        """The page's title, cancel_url and place in the map."""
        raise NotImplementedError

    def after(self, obj) -> str:
        return obj.get_absolute_url()

    def handle(self, request: HttpRequest) -> HttpResponse:
        form = self.get_form()
        if request.method == "POST" and form.is_valid() and form.save_if_unchanged(request.user):
            return go_to(request, self.after(form.instance), notice=created(form.instance))
        context = {"form": form, "intro": self.intro, "action": request.get_full_path()}
        return render_form(request, {**context, **self.context(form)})

    get = post = handle


class EditView(WriteView):
    """The edit form of one object; once saved, the page that shows it, or, for a form opened
    in place, what it replaced (`saved`). A save of an object deleted meanwhile shows what was
    typed (`keeps_typing`)."""

    form_class = None
    # The page's title, around the object's name.
    title = "Edit {}"
    keeps_typing = True

    @classmethod
    def decorate(cls, view):
        if not cls.keeps_typing:
            return view
        return keeps_typing_if_gone(cls.kind, cls.form_class)(view)

    def form_kwargs(self, obj) -> dict:
        return {}

    def get_form(self, obj):
        return self.form_class(self.request.POST or None, instance=obj, **self.form_kwargs(obj))

    def saves(self, form) -> bool:
        """Valid, and saved if nobody saved meanwhile."""
        return form.is_valid() and form.save_if_unchanged(self.request.user)

    @property
    def notice(self) -> str:
        return SAVED

    def saved(self, obj) -> HttpResponse:
        return go_to(self.request, self.back(obj), notice=self.notice)

    def context(self, obj) -> dict:
        """What else the page shows: its place in the map, say."""
        return {}

    def handle(self, request: HttpRequest, pk: int) -> HttpResponse:
        obj = self.fetch(request.user, pk, "change")
        form = self.get_form(obj)
        if request.method == "POST" and self.saves(form):
            return self.saved(obj)
        context = {
            "form": form,
            "page_title": self.title.format(name_of(obj)),
            "action": reverse(request.resolver_match.view_name, args=[pk]),
            "cancel_url": self.back(obj),
            **self.context(obj),
        }
        return render_form(request, context)

    get = post = handle


class RestoringEditView(EditView):
    """The edit form of an object with a history; opened with `?restore=N`, it holds revision N
    and its save restores it (`history_views.edit_form`). The status line says which.

    With a `summary` (the partial of the object's page that the form replaces), the saved
    object is fetched afresh, and a form opened in place is answered with that partial.
    """

    summary = ""

    def summary_context(self, obj) -> dict:
        raise NotImplementedError

    def get_form(self, obj):
        form, self.restore = history_views.edit_form(
            self.request, obj, self.form_class, **self.form_kwargs(obj)
        )
        return form

    def saves(self, form) -> bool:
        user, action = self.request.user, self.restore.action
        return form.is_valid() and form.save_if_unchanged(user, action=action)

    @property
    def notice(self) -> str:
        return self.restore.notice

    def saved(self, obj) -> HttpResponse:
        if not self.summary:
            return super().saved(obj)
        obj = self.fetch(self.request.user, obj.pk)
        if not is_inline(self.request):
            return super().saved(obj)
        context = {**self.summary_context(obj), "saved": True}
        response = render(self.request, self.summary, context)
        return notify(self.request, map_changed(response), self.notice)

    def context(self, obj) -> dict:
        return self.restore.context(self.request, name_of(obj))


class DeleteView(WriteView):
    """Asks before deleting an object, saying what goes with it; deleted, shows `after`."""

    def ask(self, obj) -> dict:
        """What the question says: what goes with it (`contents`), what stays (`keeps`), where
        it sits in the map."""
        return {}

    def remove(self, obj) -> None:
        """Delete the object, and what goes with it."""
        obj.delete()

    def after(self, obj) -> str:
        """Where to go once it is deleted: the page that showed it, unless that was its own."""
        return self.back(obj)

    def handle(self, request: HttpRequest, pk: int) -> HttpResponse:
        obj = self.fetch(request.user, pk, "delete")
        if request.method == "POST":
            after = self.after(obj)
            self.remove(obj)
            return go_to(request, after, notice=deleted(obj))
        return confirm_delete(request, obj, self.kind, self.back(obj), **self.ask(obj))

    get = post = handle


class MoveView(WriteView):
    """One place up or down among its siblings; the page it was moved on is shown again."""

    methods = ("POST",)

    def move(self, obj, direction: str) -> None:
        raise NotImplementedError

    def moved(self, obj, direction: str) -> HttpResponse:
        """The page it was moved on (the `next` the request says, or `back`), where it was."""
        return go_to(self.request, safe_next(self.request, self.back(obj)), push=False)

    def handle(self, request: HttpRequest, pk: int) -> HttpResponse:
        obj = self.fetch(request.user, pk, "change")
        direction = move_direction(request)
        self.move(obj, direction)
        return self.moved(obj, direction)

    post = handle
