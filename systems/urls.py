from django.urls import path

from systems import views

app_name = "systems"
urlpatterns = [
    path("", views.home, name="home"),
    path("systems/tree/", views.tree, name="tree"),
    path("systems/new/", views.new, name="new"),
    path("systems/<int:pk>/", views.detail, name="detail"),
    path("systems/<int:pk>/edit/", views.edit, name="edit"),
    path("systems/<int:pk>/delete/", views.delete, name="delete"),
    path("systems/<int:pk>/move/", views.move, name="move"),
    path("systems/<int:pk>/history/", views.history, name="history"),
    path("systems/<int:pk>/history/compare/", views.compare, name="compare"),
]
