from django.urls import path

from opsmodel.object_urls import object_paths
from processes import views

app_name = "processes"
urlpatterns = [
    path("new/", views.new, name="new"),
    *object_paths("", views, "detail", "edit", "delete", "move", "history", "compare"),
    path("<int:pk>/steps/", views.add_step, name="add_step"),
    path("<int:pk>/steps/order/", views.order_steps, name="order_steps"),
    *object_paths("steps/", views, "edit", "delete", "move", suffix="_step"),
]
