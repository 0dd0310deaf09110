"""Tier 3 pages, mounted at /groups/ (app "groups"): groups, KUR, graduations, follow-ups."""

from django.urls import path

from . import group_views as views

app_name = "groups"
urlpatterns = [
    path("", views.group_list, name="list"),
    path("new/", views.group_form, name="create"),
    path("<int:pk>/", views.group_detail, name="detail"),
    path("<int:pk>/edit/", views.group_form, name="edit"),
    path("<int:pk>/members/", views.group_member_add, name="member_add"),
    path("<int:pk>/members/<int:membership_pk>/leave/", views.group_member_leave, name="leave"),
    path("<int:pk>/status/", views.group_status, name="status"),
    path("<int:pk>/records/", views.group_record, name="record"),
    path("kur/", views.kur_board, name="kur_board"),
    path("kur/new/", views.kur_create, name="kur_create"),
    path("kur/<int:pk>/", views.kur_detail, name="kur_detail"),
    path("kur/<int:pk>/move/", views.kur_move, name="kur_move"),
    path("kur/<int:pk>/repay/", views.kur_repay, name="kur_repay"),
    path("graduations/", views.graduation_list, name="graduations"),
    path("follow-ups/", views.follow_up_list, name="follow_ups"),
    path("follow-ups/<int:pk>/resolve/", views.follow_up_resolve, name="resolve"),
]
