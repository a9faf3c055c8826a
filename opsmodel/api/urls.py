from django.urls import path, reverse_lazy
from django.views.generic import RedirectView

from opsmodel.api import views, webhook_views

app_name = "developer"

urlpatterns = [
    # /api/ itself is where people look first: the docs.
    path(
        "api/",
        RedirectView.as_view(url=reverse_lazy("developer:docs"), http_method_names=["get", "head"]),
        name="home",
    ),
    path("api/docs/", views.docs, name="docs"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.revoke, name="revoke"),
    path("webhooks/", webhook_views.endpoints, name="endpoints"),
    path("webhooks/<int:pk>/", webhook_views.endpoint, name="endpoint"),
    path("webhooks/<int:pk>/delete/", webhook_views.delete, name="delete_endpoint"),
    path("webhooks/deliveries/<int:pk>/resend/", webhook_views.resend, name="resend"),
]
