from django.urls import path, re_path

from . import region_views as views

app_name = "regions"
urlpatterns = [
    path("", views.browse, name="browse"),
    path("options/", views.region_options, name="options"),
    # Kemendagri codes: 36, 36.01, 36.01.01, 36.01.01.2001
    re_path(r"^(?P<code>\d{2}(?:\.\d{2}(?:\.\d{2}(?:\.\d{4})?)?)?)/$", views.browse, name="browse"),
]
