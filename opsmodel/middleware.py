from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils.cache import patch_vary_headers
from django_htmx.http import HttpResponseClientRedirect


class HtmxLoginRedirectMiddleware:
    """Send an htmx request whose session has ended to the login page as a whole page.

    Without this, htmx would follow the redirect and swap the login form into the main region.
    Every response also varies on HX-Request: error pages and this redirect depend on it.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.htmx
            and response.status_code == 302
            and response["Location"].startswith(resolve_url(settings.LOGIN_URL))
        ):
            response = HttpResponseClientRedirect(response["Location"])
        patch_vary_headers(response, ["HX-Request"])
        return response


class InactivityTimeoutMiddleware:
    """End a session after INACTIVITY_TIMEOUT seconds without a request.

    The session's expiry moves forward with activity, but at most once every few minutes:
    writing the session on every request would cost a query each time.
    """

    TOUCH_EVERY = 5 * 60

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = int(time.time())
            if now - request.session.get("seen", 0) > self.TOUCH_EVERY:
                request.session["seen"] = now  # saving it also moves the expiry forward
        return self.get_response(request)
