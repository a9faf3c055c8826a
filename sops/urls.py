from django.urls import path

from opsmodel.object_urls import object_paths
from sops import suggestion_views, views

app_name = "sops"
urlpatterns = [
    path("new/", views.new, name="new"),
    path("preview/", views.preview, name="preview"),
    *object_paths("", views, "detail", "edit", "delete", "history", "compare"),
    path("<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("<int:pk>/reviewed/", views.mark_reviewed, name="reviewed"),
    path("<int:pk>/promote/", views.promote, name="promote"),
    # Suggested edits: made from an SOP's page, reviewed by its owner or a founder.
    path("<int:pk>/suggest/", suggestion_views.suggest, name="suggest"),
    path("suggestions/", suggestion_views.queue, name="suggestions"),
    path("suggestions/<str:pk>/", suggestion_views.detail, name="suggestion"),
    path("suggestions/<str:pk>/approve/", suggestion_views.approve, name="approve"),
    path("suggestions/<str:pk>/decline/", suggestion_views.decline, name="decline"),
    path("suggestions/<str:pk>/withdraw/", suggestion_views.withdraw, name="withdraw"),
]
