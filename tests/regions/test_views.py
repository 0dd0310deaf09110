"""The region browser: each user sees the way down to their area, with counts in their scope."""

import pytest
from django.urls import reverse

from regions.models import Region
from tests.factories import HouseholdFactory

PANGGARANGAN_DESA = "36.02.02.2002"  # Lebak, outside the field worker's kecamatan


@pytest.fixture
def households(desa_lebak, desa_pandeglang):
    HouseholdFactory.create_batch(2, desa=desa_lebak, head=False)
    HouseholdFactory(desa=Region.objects.get(code=PANGGARANGAN_DESA), head=False)
    HouseholdFactory(desa=desa_pandeglang, head=False)
    HouseholdFactory(desa=desa_lebak, head=False, status="moved")  # not active: not counted


def rows(response) -> dict[str, int]:
    return {row["region"].code: row["households"] for row in response.context["rows"]}


def browse(client, code=""):
    return client.get(reverse("regions:browse", args=[code] if code else []))


@pytest.mark.django_db
@pytest.mark.parametrize("fixture", ["province_admin", "auditor"])
def test_province_wide_users_see_every_kabupaten(fixture, client, request, households):
    client.force_login(request.getfixturevalue(fixture))
    response = browse(client)
    counts = rows(response)
    assert len(counts) == 8
    assert (counts["36.01"], counts["36.02"]) == (1, 3)
    assert response.context["total"] == 4
    lebak = rows(browse(client, "36.02"))
    assert (lebak["36.02.01"], lebak["36.02.02"]) == (2, 1)


@pytest.mark.django_db
def test_district_staff_see_their_kabupaten_only(client, district_lebak, households):
    client.force_login(district_lebak)
    assert rows(browse(client)) == {"36.02": 3}
    assert browse(client, "36.01").status_code == 404
    assert browse(client, "36.01.01").status_code == 404
    assert rows(browse(client, "36.02"))["36.02.02"] == 1


@pytest.mark.django_db
def test_field_worker_sees_only_the_path_to_their_kecamatan(client, field_worker_lebak, households):
    client.force_login(field_worker_lebak)
    assert rows(browse(client)) == {"36.02": 2}  # Lebak, counting only their households
    response = browse(client, "36.02")
    assert rows(response) == {"36.02.01": 2}
    assert [r.code for r in response.context["breadcrumbs"]] == []
    response = browse(client, "36.02.01")
    desa = rows(response)
    assert desa["36.02.01.2002"] == 2
    assert all(code.startswith("36.02.01.") for code in desa)
    assert [r.code for r in response.context["breadcrumbs"]] == ["36.02"]
    link = next(r["url"] for r in response.context["rows"] if r["region"].code == "36.02.01.2002")
    assert link == "/households/?kabupaten=36.02&kecamatan=36.02.01&desa=36.02.01.2002"
    for code in ("36.01", "36.02.02", PANGGARANGAN_DESA, "36.99"):
        assert browse(client, code).status_code == 404


@pytest.mark.django_db
def test_a_desa_opens_the_filtered_household_list(client, field_worker_lebak, desa_lebak):
    client.force_login(field_worker_lebak)
    response = browse(client, desa_lebak.code)
    assert response.status_code == 302
    assert response["Location"].endswith(f"desa={desa_lebak.code}")


@pytest.mark.django_db
@pytest.mark.parametrize("fixture", ["csr_partner", "opd_officer", "no_role_user"])
def test_users_without_the_register_cannot_browse(fixture, client, request):
    client.force_login(request.getfixturevalue(fixture))
    assert browse(client).status_code == 403
    assert client.get(reverse("regions:options"), {"level": "district"}).status_code == 403
