from django.urls import path

from opsmodel.object_urls import object_paths
from systems import software_views, views

app_name = "systems"
urlpatterns = [
    path("systems/tree/", views.tree, name="tree"),
    path("systems/new/", views.new, name="new"),
    path("systems/<int:pk>/branch/", views.branch, name="branch"),
    *object_paths("systems/", views, "detail", "edit", "delete", "move", "history", "compare"),
    path("software/", software_views.software_list, name="software"),
    path("software/new/", software_views.software_new, name="software_new"),
    path("software/add/", software_views.software_add, name="software_add"),
    path("software/<int:pk>/", software_views.software_detail, name="software_detail"),
    path("software/<int:pk>/edit/", software_views.software_edit, name="software_edit"),
]
