from django.urls import path

from opsmodel.front import handbook, people

app_name = "front"
urlpatterns = [
    path("start/", people.start, name="start"),
    path("my-work/", people.my_work, name="my_work"),
    path("people/", people.people, name="list"),
    path("people/needs-an-owner/", people.unowned, name="unowned"),
    path("people/<str:username>/", people.person, name="person"),
    path("search/", people.search_page, name="search"),
    path("health/", people.health, name="health"),
    path("map/export.json", handbook.export_json, name="export_map"),
    path("map/import/", handbook.import_json, name="import_map"),
    path("map/handbook.zip", handbook.handbook_zip, name="handbook_zip"),
    path("systems/<int:pk>/handbook/", handbook.print_system, name="handbook"),
]
