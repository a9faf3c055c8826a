from django.urls import path

from opsmodel.runs import audit, schedule_views, views

app_name = "runs"
urlpatterns = [
    path("", views.run_list, name="list"),
    path("new/", views.start, name="start"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/cancel/", views.cancel, name="cancel"),
    path("steps/<int:pk>/sop/", views.sop, name="sop"),
    path("steps/<int:pk>/tick/", views.tick, name="tick"),
    path("steps/<int:pk>/skip/", views.skip, name="skip"),
    path("steps/<int:pk>/undo/", views.undo, name="undo"),
    path("steps/<int:pk>/assign/", views.assign, name="assign"),
    path("ticks.csv", audit.ticks_csv, name="ticks_csv"),
]
urlpatterns += schedule_views.urlpatterns  # a process's schedule (schedule_views.py)
