"""The regions API: read-only geography for every signed-in user, looked up by dotted code."""

import pytest
from django.urls import reverse

from regions.models import Level, Region

LIST = reverse("region-list")
ROLES = [
    "province_admin",
    "district_lebak",
    "field_worker_lebak",
    "opd_officer",
    "csr_partner",
    "auditor",
    "no_role_user",
]


def detail(code: str) -> str:
    return reverse("region-detail", args=[code])


@pytest.mark.django_db
def test_regions_need_a_signed_in_user(api):
    assert api.get(LIST).status_code in (401, 403)


@pytest.mark.django_db
@pytest.mark.parametrize("fixture", ROLES)
def test_every_signed_in_user_reads_regions(fixture, api, request):
    api.force_authenticate(request.getfixturevalue(fixture))
    response = api.get(LIST, {"level": "regency"})
    assert response.status_code == 200
    assert response.json()["count"] == Region.objects.filter(level=Level.REGENCY).count() == 8


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "level", "parent"),
    [
        ("36", "province", None),
        ("36.02", "regency", "36"),
        ("36.02.01", "district", "36.02"),
        ("36.02.01.2002", "village", "36.02.01"),
    ],
)
def test_lookup_by_dotted_code(code, level, parent, api, no_role_user):
    api.force_authenticate(no_role_user)
    response = api.get(detail(code))
    assert response.status_code == 200
    body = response.json()
    region = Region.objects.get(code=code)
    assert body == {
        "code": code,
        "name": region.name,
        "level": level,
        "parent": parent,
        "lat": None if region.lat is None else float(region.lat),
        "lng": None if region.lng is None else float(region.lng),
    }
    assert f"/api/v1/regions/{code}/" in detail(code)


@pytest.mark.django_db
@pytest.mark.parametrize("code", ["99.99", "36.02.99", "abc"])
def test_unknown_code_is_404(code, api, no_role_user):
    api.force_authenticate(no_role_user)
    assert api.get(f"/api/v1/regions/{code}/").status_code == 404


@pytest.mark.django_db
def test_filter_by_parent_code_level_and_name(api, no_role_user):
    api.force_authenticate(no_role_user)
    kecamatan = api.get(LIST, {"parent": "36.02", "page_size": 200}).json()
    expected = Region.objects.filter(parent__code="36.02").count()
    assert kecamatan["count"] == expected > 0
    assert {row["parent"] for row in kecamatan["results"]} == {"36.02"}
    assert {row["level"] for row in kecamatan["results"]} == {"district"}

    lebak = Region.objects.get(code="36.02")
    found = api.get(LIST, {"q": lebak.name[:4].lower(), "level": "regency"}).json()
    assert "36.02" in [row["code"] for row in found["results"]]

    assert api.get(LIST, {"level": "planet"}).status_code == 400


@pytest.mark.django_db
def test_regions_are_read_only(api, province_admin):
    api.force_authenticate(province_admin)
    assert api.post(LIST, {"code": "36.99", "name": "X"}, format="json").status_code == 405
    assert api.patch(detail("36.02"), {"name": "X"}, format="json").status_code == 405
    assert api.delete(detail("36.02")).status_code == 405
    assert Region.objects.get(code="36.02").name != "X"


@pytest.mark.django_db
def test_region_list_queries_do_not_grow_with_the_page(
    api, no_role_user, django_assert_num_queries
):
    api.force_authenticate(no_role_user)
    api.get(LIST)  # warm-up
    counts = []
    for size in (5, 50):
        with django_assert_num_queries(2) as captured:  # count + page
            response = api.get(LIST, {"level": "village", "page_size": size})
        assert len(response.json()["results"]) == size
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]
