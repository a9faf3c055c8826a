from django.urls import path

from sops import views

app_name = "sops"
urlpatterns = [
    path("new/", views.new, name="new"),
    path("preview/", views.preview, name="preview"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("<int:pk>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("<int:pk>/reviewed/", views.mark_reviewed, name="reviewed"),
    path("<int:pk>/promote/", views.promote, name="promote"),
    path("<int:pk>/history/", views.history, name="history"),
    path("<int:pk>/history/compare/", views.compare, name="compare"),
]
