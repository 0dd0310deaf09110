from django.urls import path, re_path

from . import views

app_name = "interventions"
urlpatterns = [
    path("", views.overview, name="overview"),
    # Kemendagri codes of a kabupaten/kota or kecamatan: 36.01, 36.01.01
    re_path(r"^regions/(?P<code>\d{2}(?:\.\d{2}){0,2})/$", views.overview, name="overview"),
    path("households/<int:pk>/", views.household_pathway, name="household"),
    path("households/<int:pk>/panel/", views.household_panel, name="household_panel"),
    path("households/<int:pk>/verify/", views.case_verify, name="verify"),
    path("households/<int:pk>/change/", views.case_change, name="change"),
    path("households/<int:pk>/exit-reason/", views.exit_reason, name="exit_reason"),
    path("rules/", views.rule_sets, name="rules"),
    path("rules/new/", views.rule_set_new, name="rule_new"),
    path("rules/<int:version>/", views.rule_set_detail, name="rule_detail"),
    path("rules/<int:version>/edit/", views.rule_set_edit, name="rule_edit"),
    path("rules/<int:version>/publish/", views.rule_set_publish, name="rule_publish"),
    path("jobs/", views.job_list, name="jobs"),
    path("jobs/<int:pk>/", views.job_detail, name="job"),
]
