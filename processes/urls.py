from django.urls import path

from processes import views

app_name = "processes"
urlpatterns = [
    path("<int:pk>/", views.detail, name="detail"),
]
