from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

admin.site.site_header = "Opsmodel administration"
admin.site.site_title = "Opsmodel admin"

urlpatterns = [
    path("", include("systems.urls")),
    path("processes/", include("processes.urls")),
    path("metrics/", include("processes.metric_urls")),
    path("sops/", include("sops.urls")),
    path("", include("sops.people_urls")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(extra_context={"page_title": "Log in"}),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
