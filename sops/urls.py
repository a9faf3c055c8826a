from django.urls import path

from opsmodel.object_urls import object_paths
from sops import views

app_name = "sops"
urlpatterns = [
    path("new/", views.new, name="new"),
    path("preview/", views.preview, name="preview"),
    *object_paths("", views, "detail", "edit", "delete", "history", "compare"),
    path("<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("<int:pk>/reviewed/", views.mark_reviewed, name="reviewed"),
    path("<int:pk>/promote/", views.promote, name="promote"),
]
