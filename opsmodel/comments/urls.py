from django.urls import path

from opsmodel.comments import views

app_name = "comments"
urlpatterns = [
    path("people/", views.people, name="people"),
    path("<int:pk>/reply/", views.reply, name="reply"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("<int:pk>/resolve/", views.resolve, name="resolve"),
    path("<int:pk>/reopen/", views.reopen, name="reopen"),
    # A thread's own page, and a new thread on it: /comments/step/12/, /comments/sop/3/new/.
    path("<str:kind>/<str:pk>/", views.thread, name="thread"),
    path("<str:kind>/<str:pk>/new/", views.new, name="new"),
]
