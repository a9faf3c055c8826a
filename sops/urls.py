from django.urls import path

from opsmodel.object_urls import object_paths
from sops import attachment_views, suggestion_views, views

app_name = "sops"
urlpatterns = [
    path("new/", views.new, name="new"),
    path("preview/", views.preview, name="preview"),
    *object_paths("", views, "detail", "edit", "delete", "history", "compare"),
    path("<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("<int:pk>/reviewed/", views.mark_reviewed, name="reviewed"),
    path("<int:pk>/promote/", views.promote, name="promote"),
    # Pictures and files: uploaded by those who may change the SOP, read by its readers.
    path("<int:pk>/files/", attachment_views.attach, name="attach"),
    path(
        "<int:pk>/files/<int:attachment_pk>/delete/",
        attachment_views.delete,
        name="delete_file",
    ),
    path(
        "<int:pk>/files/<int:attachment_pk>/<str:name>",
        attachment_views.attachment,
        name="file",
    ),
    # Suggested edits: made from an SOP's page, reviewed by its owner or a founder.
    path("<int:pk>/suggest/", suggestion_views.suggest, name="suggest"),
    path("suggestions/", suggestion_views.queue, name="suggestions"),
    path("suggestions/<str:pk>/", suggestion_views.detail, name="suggestion"),
    path("suggestions/<str:pk>/approve/", suggestion_views.approve, name="approve"),
    path("suggestions/<str:pk>/decline/", suggestion_views.decline, name="decline"),
    path("suggestions/<str:pk>/withdraw/", suggestion_views.withdraw, name="withdraw"),
]
