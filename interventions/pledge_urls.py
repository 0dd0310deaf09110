"""CSR funding pages, mounted at /pledges/ (app "pledges")."""

from django.urls import path

from . import pledge_views as views

app_name = "pledges"
urlpatterns = [
    path("", views.pledge_list, name="list"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("new/", views.pledge_create, name="create"),
    path("<int:pk>/", views.pledge_detail, name="detail"),
    path("<int:pk>/edit/", views.pledge_edit, name="edit"),
    path("<int:pk>/activate/", views.pledge_activate, name="activate"),
    path("<int:pk>/close/", views.pledge_close, name="close"),
    path("<int:pk>/cancel/", views.pledge_cancel, name="cancel"),
    path("<int:pk>/disbursements/new/", views.disbursement_create, name="disburse"),
]
