"""Referral (rujukan) pages, mounted at /referrals/ (app "referrals")."""

from django.urls import path

from . import referral_views as views

app_name = "referrals"
urlpatterns = [
    path("", views.referral_list, name="list"),
    path("new/", views.referral_create, name="create"),
    path("inbox/", views.inbox, name="inbox"),
    path("gaps/", views.gaps, name="gaps"),
    path("gaps/refer/", views.gaps_refer, name="gaps_refer"),
    path("deliveries/<int:pk>/evidence/", views.delivery_evidence, name="evidence"),
    path("<int:pk>/", views.referral_detail, name="detail"),
    path("<int:pk>/accept/", views.referral_accept, name="accept"),
    path("<int:pk>/reject/", views.referral_reject, name="reject"),
    path("<int:pk>/deliveries/", views.delivery_create, name="deliver"),
    path("<int:pk>/complete/", views.referral_complete, name="complete"),
    path("<int:pk>/cancel/", views.referral_cancel, name="cancel"),
]
