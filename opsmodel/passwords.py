"""Setting one's password from a link: a new person's first, or a forgotten one.

Both send the same email, built with Django's password-reset machinery (a one-use token from
`default_token_generator` and the person's id as uidb64), its link absolute through SITE_URL;
both land on Django's PasswordResetConfirmView with our templates. A link works once, for
PASSWORD_RESET_TIMEOUT seconds, and only for an active person.

"Forgot your password?" never says whether an address is known: the same answer either way,
and at most RESETS_PER_ADDRESS emails an hour to one address (RESETS_PER_CLIENT requests from
one client address), counted in the database as login throttling is.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.shortcuts import resolve_url
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_encode

from opsmodel.client_ip import client_ip
from opsmodel.models import PasswordResetRequest

logger = logging.getLogger(__name__)

RESETS_PER_ADDRESS = 3  # emails an hour to one address
RESETS_PER_CLIENT = 10  # requests an hour from one client address, whatever the email
THROTTLE_WINDOW = datetime.timedelta(hours=1)


def valid_for() -> str:
    """How long a link works, in words: "3 days", "1 day", "12 hours", "30 minutes"."""
    seconds = settings.PASSWORD_RESET_TIMEOUT
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def set_password_url(person) -> str:
    """The absolute, one-use link with which `person` chooses their password."""
    uid = urlsafe_base64_encode(force_bytes(person.pk))
    token = default_token_generator.make_token(person)
    return absolute(reverse("password_reset_confirm", args=[uid, token]))


def send_set_password_link(person, *, by=None) -> bool:
    """Email `person` the link to set their password: a welcome if they have none yet, else a
    new one; sent by an admin (`by`) or asked for by the person. Whether the mail server took
    it (a failure is logged)."""
    welcome = not person.has_usable_password()
    context = {
        "person": person,
        "by": by,
        "welcome": welcome,
        "url": set_password_url(person),
        "valid_for": valid_for(),
        "forgot_url": absolute(reverse("password_reset")),
        "login_url": absolute(reverse("login")),
    }
    subject = "Set your password for Opsmodel" if welcome else "Choose a new password for Opsmodel"
    message = mail.EmailMessage(
        subject=subject,
        body=render_to_string("registration/set_password_email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[person.email],
        headers={"Auto-Submitted": "auto-generated"},
    )
    try:
        message.send()
    except Exception:
        logger.exception("The set-password email to person %s could not be sent", person.pk)
        return False
    return True


def may_send_reset(email: str, ip: str | None) -> bool:
    """Count this request, and say whether it may send an email: not if the address, or the
    client, has asked too often in the last hour. Requests older than that are forgotten."""
    now = timezone.now()
    PasswordResetRequest.objects.filter(requested_at__lt=now - THROTTLE_WINDOW).delete()
    recent = PasswordResetRequest.objects.all()
    allowed = recent.filter(email=email).count() < RESETS_PER_ADDRESS and (
        ip is None or recent.filter(ip=ip).count() < RESETS_PER_CLIENT
    )
    PasswordResetRequest.objects.create(email=email, ip=ip, requested_at=now)
    return allowed


class ForgotPasswordForm(PasswordResetForm):
    """Django's form, with our email and our throttle."""

    def get_users(self, email):
        """Every active person with that address, a new person who has not set a password
        yet included (Django leaves out those without one, for sign-ins elsewhere; here
        there are none)."""
        return get_user_model().objects.filter(email__iexact=email, is_active=True)

    def save(self, request=None, **kwargs) -> None:
        email = self.cleaned_data["email"].strip().lower()
        if not may_send_reset(email, client_ip(request) if request else None):
            return
        for person in self.get_users(email):
            send_set_password_link(person)


class ForgotPasswordView(auth_views.PasswordResetView):
    form_class = ForgotPasswordForm
    template_name = "registration/password_reset_form.html"
    extra_context = {"page_title": "Forgot your password?"}


class ForgotPasswordDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/password_reset_done.html"
    extra_context = {"page_title": "Check your email"}

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "valid_for": valid_for()}


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """Choosing a password from the emailed link; then the person is logged in."""

    template_name = "registration/password_reset_confirm.html"
    post_reset_login = True
    # Logged in straight after proving they hold the link: not through the lockout's backend.
    post_reset_login_backend = "django.contrib.auth.backends.ModelBackend"
    extra_context = {"page_title": "Choose your password"}

    def get_user(self, uidb64):
        """Nobody who has left sets a password (nor is logged in by doing so)."""
        person = super().get_user(uidb64)
        return person if person is not None and person.is_active else None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["person"] = self.user
        context["valid_for"] = valid_for()
        if not self.validlink:
            token = self.kwargs.get("token", "")
            if token == self.reset_url_token:
                token = self.request.session.get(auth_views.INTERNAL_RESET_SESSION_TOKEN, "")
            context["expired"] = self.user is not None and is_expired(self.user, token)
        return context


def is_expired(person, token: str) -> bool:
    """Whether `token` was once `person`'s valid link and is refused only for its age (rather
    than used already, or never theirs)."""
    try:
        timestamp = base36_to_int(token.split("-")[0])
    except ValueError:
        return False
    generator = default_token_generator
    for secret in [generator.secret, *generator.secret_fallbacks]:
        if constant_time_compare(
            generator._make_token_with_timestamp(person, timestamp, secret), token
        ):
            return True
    return False


class PasswordSetView(auth_views.PasswordResetCompleteView):
    template_name = "registration/password_reset_complete.html"
    extra_context = {"page_title": "Your password is set"}

    def get_context_data(self, **kwargs):
        # Where logging in lands (the map or My work), named by the settings.
        return {
            **super().get_context_data(**kwargs),
            "start_url": resolve_url(settings.LOGIN_REDIRECT_URL),
        }
