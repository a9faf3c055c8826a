from django.urls import path

from opsmodel.object_urls import object_paths
from processes import metric_views as views

app_name = "metrics"
urlpatterns = [
    path("", views.scorecard, name="scorecard"),
    path("goals/", views.goals, name="goals"),
    path("new/", views.new, name="new"),
    path("export.csv", views.export, name="export"),
    path("import/", views.import_values, name="import"),
    *object_paths("", views, "edit", "delete"),
    path("<int:pk>/record/", views.record, name="record"),
]
