import pytest
from django.core.exceptions import ValidationError

from opd.access import access_for
from opd.models import Membership, Organisation, Role
from opd.services import membership_grant, organisations_load
from regions.models import Region


@pytest.mark.django_db
def test_province_admin_reaches_whole_province(province_admin):
    access = access_for(province_admin)
    assert access.whole_province
    assert access.reads_register
    assert access.edits_register
    assert access.reads_identity_numbers


@pytest.mark.django_db
def test_district_staff_is_limited_to_their_regency(district_lebak):
    access = access_for(district_lebak)
    assert access.register_areas == ("36.02",)
    assert access.covers("36.02.01.2002")
    assert not access.covers("36.01.01.2001")
    assert not access.covers("36.021")  # a prefix of digits is not a subtree


@pytest.mark.django_db
def test_field_worker_is_limited_to_their_kecamatan(field_worker_lebak):
    access = access_for(field_worker_lebak)
    assert access.covers("36.02.01.2002")
    assert not access.covers("36.02.02.2001")
    assert access.edits_register
    assert access.reads_identity_numbers


@pytest.mark.django_db
def test_auditor_reads_everything_but_not_numbers_and_cannot_edit(auditor):
    access = access_for(auditor)
    assert access.reads_register
    assert access.whole_province
    assert not access.edits_register
    assert not access.reads_identity_numbers


@pytest.mark.django_db
@pytest.mark.parametrize("fixture", ["csr_partner", "opd_officer", "no_role_user"])
def test_roles_outside_the_register(fixture, request):
    access = access_for(request.getfixturevalue(fixture))
    assert not access.reads_register
    assert not access.edits_register
    assert not access.reads_identity_numbers


@pytest.mark.django_db
def test_csr_partner_never_reads_personal_data(csr_partner):
    assert not access_for(csr_partner).reads_personal_data


@pytest.mark.django_db
def test_inactive_membership_grants_nothing(district_lebak):
    Membership.objects.filter(user=district_lebak).update(is_active=False)
    district_lebak.refresh_from_db()
    assert not access_for(district_lebak).reads_register


@pytest.mark.django_db
def test_access_is_computed_once_per_user_object(district_lebak, django_assert_num_queries):
    with django_assert_num_queries(1):
        access_for(district_lebak)
        access_for(district_lebak)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "area_code", "ok"),
    [
        (Role.DISTRICT_STAFF, "36.02", True),
        (Role.DISTRICT_STAFF, "36.02.01", False),
        (Role.DISTRICT_STAFF, None, False),
        (Role.FIELD_WORKER, "36.02.01", True),
        (Role.FIELD_WORKER, "36.02.01.2002", True),
        (Role.FIELD_WORKER, "36.02", False),
        (Role.PROVINCIAL_ADMIN, None, True),
        (Role.PROVINCIAL_ADMIN, "36.02", False),
    ],
)
def test_membership_area_must_fit_the_role(role, area_code, ok, no_role_user):
    org = Organisation.objects.get(short_name="Dinsos Banten")
    area = Region.objects.get(code=area_code) if area_code else None
    if ok:
        assert membership_grant(user=no_role_user, organisation=org, role=role, area=area).pk
    else:
        with pytest.raises(ValidationError) as exc:
            membership_grant(user=no_role_user, organisation=org, role=role, area=area)
        assert "area" in exc.value.message_dict
        assert not Membership.objects.filter(user=no_role_user).exists()


@pytest.mark.django_db
def test_csr_partner_must_belong_to_a_company(no_role_user):
    org = Organisation.objects.get(short_name="Dinsos Banten")
    with pytest.raises(ValidationError) as exc:
        membership_grant(user=no_role_user, organisation=org, role=Role.CSR_PARTNER, area=None)
    assert "organisation" in exc.value.message_dict


@pytest.mark.django_db
def test_organisations_load_is_idempotent():
    before = Organisation.objects.count()
    assert organisations_load() == 0
    assert Organisation.objects.count() == before
    assert Organisation.objects.filter(short_name="Dinsos Banten", kind="opd").exists()
