from __future__ import annotations

import gzip
import secrets
import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.middleware import get_user
from django.http import HttpRequest, HttpResponse
from django.middleware import gzip as django_gzip
from django.shortcuts import resolve_url
from django.utils.cache import patch_vary_headers
from django_htmx.http import HttpResponseClientRedirect

from opsmodel import addresses

# How hard a page is compressed: 1, as web servers do by default. Django's 6 took 0.3–0.5 ms
# more on a 30–65 kB page drawn afresh (a tenth of what serving a kept page costs), for a
# page 10–20% smaller: 7.5 kB instead of 6.4 kB for a process's page.
COMPRESS_LEVEL = 1


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


class PersonMiddleware:
    """Put the person on the request themselves, in place of Django's lazy stand-in.

    Every request asks who it comes from (its session's expiry, below, and every view's login
    check), so the stand-in is always looked through; but each of a page's hundreds of uses of
    `request.user` then went through it again (an attribute found by way of three functions
    and an exception). Django's `get_user` finds the same person the stand-in would, once.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.user = get_user(request)
        return self.get_response(request)


class AddressesMiddleware:
    """While the view answers, its links (opsmodel.addresses) read the request's script prefix
    and URLconf once: noted when Django has chosen the URLconf (process_view), forgotten when
    the response is made (a streamed one's links, drawn later, read them themselves)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            addresses.done()

    def process_view(self, request: HttpRequest, view, args, kwargs) -> None:
        addresses.answering()


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


class GZipMiddleware(django_gzip.GZipMiddleware):
    """Django's, compressing each page at COMPRESS_LEVEL rather than 6, and padding it as
    Django does against BREACH (a random run of bytes in the gzip header's file name).
    Streamed responses are Django's business, as before."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if (
            response.streaming
            or len(response.content) < 200
            or response.has_header("Content-Encoding")
        ):
            return super().process_response(request, response)
        patch_vary_headers(response, ("Accept-Encoding",))
        if not django_gzip.re_accepts_gzip.search(request.META.get("HTTP_ACCEPT_ENCODING", "")):
            return response
        compressed = padded_gzip(response.content, self.max_random_bytes)
        if len(compressed) >= len(response.content):
            return response
        response.content = compressed
        response.headers["Content-Length"] = str(len(compressed))
        etag = response.get("ETag")
        if etag and etag.startswith('"'):
            response.headers["ETag"] = "W/" + etag  # a strong one no longer holds (RFC 9110)
        response.headers["Content-Encoding"] = "gzip"
        return response


def padded_gzip(content: bytes, max_random_bytes: int) -> bytes:
    """`content` compressed, with a file name of 0 to `max_random_bytes` − 1 bytes in its
    header, so that its length says less about what it holds (django.utils.text's way)."""
    compressed = memoryview(gzip.compress(content, compresslevel=COMPRESS_LEVEL, mtime=0))
    header = bytearray(compressed[:10])
    header[3] = gzip.FNAME
    name = b"a" * secrets.randbelow(max_random_bytes) + b"\x00"
    return bytes(header) + name + compressed[10:]
