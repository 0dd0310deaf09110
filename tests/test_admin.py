"""Every model has an admin page that opens for a superuser."""

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from tests.factories import HouseholdFactory

APPS = {"regions", "opd", "households", "interventions"}


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root", "root@example.org", "x")


def test_every_project_model_is_registered():
    from django.apps import apps

    models = [m for app in APPS for m in apps.get_app_config(app).get_models()]
    missing = [
        m.__name__
        for m in models
        if m not in admin.site._registry and not m.__name__.startswith("Historical")
    ]
    assert missing == []


@pytest.mark.django_db
def test_changelists_open(client, superuser, desa_lebak):
    HouseholdFactory(desa=desa_lebak)
    client.force_login(superuser)
    for model in admin.site._registry:
        if model._meta.app_label not in APPS:
            continue
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url


@pytest.mark.django_db
def test_household_history_opens(client, superuser, desa_lebak):
    household = HouseholdFactory(desa=desa_lebak)
    client.force_login(superuser)
    url = reverse("admin:households_household_history", args=[household.pk])
    assert client.get(url).status_code == 200
