from django.urls import path

from systems import views

app_name = "systems"
urlpatterns = [
    path("", views.home, name="home"),
    path("systems/<int:pk>/", views.detail, name="detail"),
]
