from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.http import require_GET

from opsmodel import passwords
from systems.views import home


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """For load balancers (and the benchmark's floor): the app answers, touching nothing."""
    return HttpResponse("ok", content_type="text/plain")


admin.site.site_header = "Opsmodel administration"
admin.site.site_title = "Opsmodel admin"

urlpatterns = [
    # The map is the site's home page, named here so that every layer may link to it.
    path("", home, name="home"),
    path("", include("systems.urls")),
    path("processes/", include("processes.urls")),
    path("metrics/", include("processes.metric_urls")),
    path("sops/", include("sops.urls")),
    path("runs/", include("opsmodel.runs.urls")),
    path("comments/", include("opsmodel.comments.urls")),
    path("", include("opsmodel.front.urls")),
    path("", include("opsmodel.notify.urls")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(extra_context={"page_title": "Log in"}),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Setting one's password from an emailed link: a new person's, or a forgotten one.
    path(
        "accounts/password/forgot/", passwords.ForgotPasswordView.as_view(), name="password_reset"
    ),
    path(
        "accounts/password/forgot/sent/",
        passwords.ForgotPasswordDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/password/set/<uidb64>/<token>/",
        passwords.SetPasswordView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/set/done/",
        passwords.PasswordSetView.as_view(),
        name="password_reset_complete",
    ),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]
