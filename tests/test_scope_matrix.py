"""One table: which role gets what for a Pandeglang household, in pages and API alike."""

import pytest
from django.urls import reverse

from tests.factories import HouseholdFactory

# role fixture -> (detail page, edit page, API detail) for a household in Kabupaten Pandeglang
MATRIX = [
    ("province_admin", 200, 200, 200),
    ("district_pandeglang", 200, 200, 200),
    ("auditor", 200, 403, 200),
    ("district_lebak", 404, 404, 404),
    ("field_worker_lebak", 404, 404, 404),
    ("opd_officer", 403, 403, 404),
    ("csr_partner", 403, 403, 404),
    ("no_role_user", 403, 403, 404),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("fixture", "detail", "edit", "api_detail"), MATRIX)
def test_pandeglang_household_per_role(
    fixture, detail, edit, api_detail, request, client, api, desa_pandeglang
):
    household = HouseholdFactory(desa=desa_pandeglang)
    user = request.getfixturevalue(fixture)
    client.force_login(user)
    api.force_authenticate(user)
    assert client.get(reverse("households:detail", args=[household.pk])).status_code == detail
    assert client.get(reverse("households:edit", args=[household.pk])).status_code == edit
    assert api.get(f"/api/v1/households/{household.pk}/").status_code == api_detail
    pathway = client.get(reverse("interventions:household", args=[household.pk]))
    assert pathway.status_code in ((200,) if detail == 200 else (403, 404))
    listed = api.get("/api/v1/households/")
    ids = [row["id"] for row in listed.json()["results"]] if listed.status_code == 200 else []
    assert (household.pk in ids) is (api_detail == 200)
