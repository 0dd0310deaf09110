"""Field visit pages, mounted at /visits/ (app "visits")."""

from django.urls import path

from . import visit_views as views

app_name = "visits"
urlpatterns = [
    path("", views.due, name="due"),
    path("record/", views.record, name="record"),
    path("list/", views.visit_list, name="list"),
    path("supervision/", views.supervision, name="supervision"),
    path("photos/<int:pk>/", views.photo, name="photo"),
    path("<int:pk>/", views.visit_detail, name="detail"),
    path("<int:pk>/resolve/", views.visit_resolve, name="resolve"),
]
