from django.urls import path

from . import views

app_name = "households"
urlpatterns = [
    path("", views.household_list, name="list"),
    path("new/", views.household_create, name="create"),
    path("<int:pk>/", views.household_detail, name="detail"),
    path("<int:pk>/edit/", views.household_edit, name="edit"),
    path("<int:pk>/kk-reason/", views.kk_reason, name="kk_reason"),
    path("<int:pk>/history/", views.household_history, name="history"),
    path("<int:pk>/members/new/", views.member_add, name="member_add"),
    path("members/<int:pk>/edit/", views.member_edit, name="member_edit"),
    path("members/<int:pk>/make-head/", views.member_make_head, name="member_make_head"),
    path("members/<int:pk>/leave/", views.member_leave, name="member_leave"),
]
