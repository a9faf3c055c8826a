from django.urls import path

from opsmodel.object_urls import object_paths
from systems import views

app_name = "systems"
urlpatterns = [
    path("systems/tree/", views.tree, name="tree"),
    path("systems/new/", views.new, name="new"),
    *object_paths("systems/", views, "detail", "edit", "delete", "move", "history", "compare"),
]
