from django.urls import path

from opsmodel.front import handbook, markdown_views, people, people_admin
from opsmodel.front.starters import views as starters

app_name = "front"
urlpatterns = [
    path("start/", people.start, name="start"),
    path("my-work/", people.my_work, name="my_work"),
    path("people/", people.people, name="list"),
    path("people/needs-an-owner/", people.unowned, name="unowned"),
    path("people/new/", people_admin.add_person, name="add_person"),
    path("people/<str:username>/", people.person, name="person"),
    path("people/<str:username>/edit/", people_admin.edit_person, name="edit_person"),
    path("people/<str:username>/send-link/", people_admin.send_link, name="send_link"),
    path("people/<str:username>/deactivate/", people_admin.deactivate, name="deactivate"),
    path("people/<str:username>/reactivate/", people_admin.reactivate, name="reactivate"),
    path("people/<str:username>/reassign/", people_admin.reassign, name="reassign"),
    path("search/", people.search_page, name="search"),
    path("health/", people.health, name="health"),
    path("map/export.json", handbook.export_json, name="export_map"),
    path("map/import/", handbook.import_json, name="import_map"),
    path("map/import/markdown/", markdown_views.upload, name="markdown_upload"),
    path("map/import/markdown/done/", markdown_views.done, name="markdown_done"),
    path("map/import/markdown/<str:token>/", markdown_views.preview, name="markdown_preview"),
    path("map/import/markdown/<str:token>/cancel/", markdown_views.cancel, name="markdown_cancel"),
    path("map/handbook.zip", handbook.handbook_zip, name="handbook_zip"),
    path("systems/<int:pk>/handbook/", handbook.print_system, name="handbook"),
    path("starters/", starters.starters, name="starters"),
]
