from django.urls import path

from sops import views

app_name = "sops"
urlpatterns = [
    path("<int:pk>/", views.detail, name="detail"),
]
