"""Who sees which households: the scoping every page and endpoint uses."""

import pytest

from households.models import Household, Member
from households.selectors import household_list, region_counts, region_total
from regions.models import Region
from tests.factories import HouseholdFactory


@pytest.fixture
def two_households(desa_lebak, desa_pandeglang):
    return HouseholdFactory(desa=desa_lebak), HouseholdFactory(desa=desa_pandeglang)


def visible_ids(user):
    return set(Household.objects.visible_to(user).values_list("pk", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fixture", "sees_lebak", "sees_pandeglang"),
    [
        ("province_admin", True, True),
        ("auditor", True, True),
        ("district_lebak", True, False),
        ("district_pandeglang", False, True),
        ("field_worker_lebak", True, False),
        ("opd_officer", False, False),
        ("csr_partner", False, False),
        ("no_role_user", False, False),
    ],
)
def test_household_visibility_per_role(
    fixture, sees_lebak, sees_pandeglang, two_households, request
):
    lebak, pandeglang = two_households
    ids = visible_ids(request.getfixturevalue(fixture))
    assert (lebak.pk in ids) is sees_lebak
    assert (pandeglang.pk in ids) is sees_pandeglang


@pytest.mark.django_db
def test_field_worker_does_not_see_other_kecamatan_of_the_same_regency(field_worker_lebak):
    elsewhere_in_lebak = Region.objects.get(code="36.02.02").children.first()
    hh = HouseholdFactory(desa=elsewhere_in_lebak)
    assert hh.pk not in visible_ids(field_worker_lebak)


@pytest.mark.django_db
def test_members_follow_their_household(field_worker_lebak, two_households):
    lebak, _ = two_households
    visible = set(
        Member.objects.visible_to(field_worker_lebak).values_list("household_id", flat=True)
    )
    assert visible == {lebak.pk}


@pytest.mark.django_db
def test_search_never_reaches_outside_scope(field_worker_lebak, two_households):
    _, pandeglang = two_households
    head = pandeglang.members.get()
    for term in (head.name, head.nik, pandeglang.no_kk):
        assert not household_list(field_worker_lebak, {"q": term}).exists()


@pytest.mark.django_db
def test_region_counts_only_count_visible_households(
    field_worker_lebak, province_admin, two_households
):
    lebak_counts = {
        row["region"].code: row["households"] for row in region_counts(field_worker_lebak, None)
    }
    assert lebak_counts["36.02"] == 1
    assert lebak_counts["36.01"] == 0
    admin_counts = {
        row["region"].code: row["households"] for row in region_counts(province_admin, None)
    }
    assert admin_counts["36.01"] == 1
    assert region_total(field_worker_lebak, None) == 1
    assert region_total(province_admin, Region.objects.get(code="36.01")) == 1


@pytest.mark.django_db
def test_region_counts_roll_up_to_each_level(province_admin, desa_lebak):
    HouseholdFactory.create_batch(3, desa=desa_lebak)
    kecamatan = desa_lebak.parent
    rows = {
        r["region"].code: r["households"] for r in region_counts(province_admin, kecamatan.parent)
    }
    assert rows[kecamatan.code] == 3
    rows = {r["region"].code: r["households"] for r in region_counts(province_admin, kecamatan)}
    assert rows[desa_lebak.code] == 3
    assert sum(rows.values()) == 3
