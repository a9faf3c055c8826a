from django.urls import path

from processes import metric_views as views

app_name = "metrics"
urlpatterns = [
    path("", views.scorecard, name="scorecard"),
    path("goals/", views.goals, name="goals"),
    path("new/", views.new, name="new"),
    path("export.csv", views.export, name="export"),
    path("import/", views.import_values, name="import"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("<int:pk>/record/", views.record, name="record"),
]
