from django.urls import path, reverse_lazy
from django.views.generic import RedirectView

from opsmodel.api import views

app_name = "developer"

urlpatterns = [
    # /api/ itself is where people look first: the docs.
    path("api/", RedirectView.as_view(url=reverse_lazy("developer:docs")), name="home"),
    path("api/docs/", views.docs, name="docs"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", views.revoke, name="revoke"),
]
