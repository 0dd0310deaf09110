"""The programme catalogue's pages, mounted at /programmes/ (app "programmes")."""

from django.urls import path

from . import programme_views as views

app_name = "programmes"
urlpatterns = [
    path("", views.programme_list, name="list"),
    path("new/", views.programme_create, name="create"),
    path("<str:code>/", views.programme_detail, name="detail"),
    path("<str:code>/edit/", views.programme_edit, name="edit"),
    path("<str:code>/periods/new/", views.period_create, name="period_create"),
]
