from django.urls import path

from processes import views

app_name = "processes"
urlpatterns = [
    path("new/", views.new, name="new"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("<int:pk>/move/", views.move, name="move"),
    path("<int:pk>/history/", views.history, name="history"),
    path("<int:pk>/history/compare/", views.compare, name="compare"),
    path("<int:pk>/steps/", views.add_step, name="add_step"),
    path("<int:pk>/steps/order/", views.order_steps, name="order_steps"),
    path("steps/<int:pk>/edit/", views.edit_step, name="edit_step"),
    path("steps/<int:pk>/delete/", views.delete_step, name="delete_step"),
    path("steps/<int:pk>/move/", views.move_step, name="move_step"),
]
