"""The register's write rules, through the services every entry point uses."""

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError

from households import choices as c
from households import services
from households.identity import nik_for
from households.models import Household, KkChange, Member
from households.signals import household_data_changed
from povertycase.errors import DomainError, NotAllowed, OutOfScope
from tests.factories import HouseholdFactory, MemberFactory

HEAD_BIRTH = date(1980, 3, 15)


def head_data(desa, **overrides):
    data = {
        "nik": nik_for(district_code=desa.digits[:6], birth_date=HEAD_BIRTH, sex="M", serial=7),
        "name": "Ahmad Sujana",
        "relationship": c.Relationship.HEAD,
        "sex": c.Sex.MALE,
        "birth_date": HEAD_BIRTH,
    }
    data.update(overrides)
    return data


def register(actor, desa, members=None, **fields):
    fields.setdefault("no_kk", f"{desa.digits[:6]}0101250001")
    fields.setdefault("registration_source", c.RegistrationSource.FIELD)
    fields.setdefault("monthly_expenditure", 1_500_000)
    return services.household_register(
        actor=actor, desa=desa, members=members or [head_data(desa)], **fields
    )


def assert_nothing_written(before):
    assert (Household.objects.count(), Member.objects.count(), KkChange.objects.count()) == before


def counts():
    return Household.objects.count(), Member.objects.count(), KkChange.objects.count()


@pytest.mark.django_db
def test_register_writes_household_head_and_first_kk(field_worker_lebak, desa_lebak):
    hh = register(field_worker_lebak, desa_lebak)
    assert hh.members.get().is_head
    assert hh.kk_changes.get().reason == c.KkChangeReason.FIRST
    assert hh.created_by == field_worker_lebak
    assert hh.history.first().history_user == field_worker_lebak


@pytest.mark.django_db
def test_register_announces_the_change_after_commit(
    field_worker_lebak, desa_lebak, django_capture_on_commit_callbacks
):
    received = []

    def listener(sender, household_id, **kwargs):
        received.append(household_id)

    household_data_changed.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            hh = register(field_worker_lebak, desa_lebak)
            assert received == []
    finally:
        household_data_changed.disconnect(listener)
    assert received == [hh.pk]


BAD_NIKS = [
    ("360201150380000", "16"),  # 15 digits
    ("36020115038000A7", "digit"),
    ("990201150380 0007", "digit"),
    ("9902011503800007", "province"),
    ("3602013202800007", "date"),  # day 32
    ("3602011504800007", "birth"),  # 15 April, not 15 March
    ("3602015503800007", "sex"),  # day + 40: a woman's NIK for a man
    ("3602011503800000", "serial"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("nik", "_why"), BAD_NIKS)
def test_register_refuses_bad_nik_and_writes_nothing(nik, _why, field_worker_lebak, desa_lebak):
    before = counts()
    with pytest.raises(ValidationError) as exc:
        register(field_worker_lebak, desa_lebak, members=[head_data(desa_lebak, nik=nik)])
    assert list(exc.value.message_dict) == ["members[0].nik"]
    assert exc.value.message_dict["members[0].nik"][0]
    assert_nothing_written(before)


@pytest.mark.django_db
def test_duplicate_nik_is_refused(field_worker_lebak, desa_lebak):
    existing = HouseholdFactory(desa=desa_lebak).members.get()
    before = counts()
    data = head_data(desa_lebak, nik=existing.nik, birth_date=existing.birth_date, sex=existing.sex)
    with pytest.raises(ValidationError) as exc:
        register(field_worker_lebak, desa_lebak, members=[data], no_kk="3602010101250099")
    assert "NIK" in exc.value.message_dict["members[0].nik"][0]
    assert_nothing_written(before)


@pytest.mark.django_db
def test_nik_of_a_person_who_left_can_be_registered_again(field_worker_lebak, desa_lebak):
    old = HouseholdFactory(desa=desa_lebak)
    person = MemberFactory(household=old)
    services.member_leave(
        actor=field_worker_lebak, member=person, status="moved_out", left_on=date.today()
    )
    data = head_data(desa_lebak, nik=person.nik, birth_date=person.birth_date, sex=person.sex)
    hh = register(field_worker_lebak, desa_lebak, members=[data], no_kk="3602010101250098")
    assert hh.members.get().nik == person.nik


@pytest.mark.django_db
def test_duplicate_active_kk_is_refused(field_worker_lebak, desa_lebak):
    other = HouseholdFactory(desa=desa_lebak)
    before = counts()
    with pytest.raises(ValidationError) as exc:
        register(field_worker_lebak, desa_lebak, no_kk=other.no_kk)
    assert list(exc.value.message_dict) == ["no_kk"]
    assert_nothing_written(before)


@pytest.mark.django_db
@pytest.mark.parametrize("kk", ["123", "99020101012500011", "9902010101250001", "3602010101250000"])
def test_bad_kk_is_refused(kk, field_worker_lebak, desa_lebak):
    before = counts()
    with pytest.raises(ValidationError) as exc:
        register(field_worker_lebak, desa_lebak, no_kk=kk)
    assert "no_kk" in exc.value.message_dict
    assert_nothing_written(before)


@pytest.mark.django_db
def test_exactly_one_head_on_registration(field_worker_lebak, desa_lebak):
    second = head_data(
        desa_lebak,
        nik=nik_for(district_code="360201", birth_date=date(1982, 1, 2), sex="F", serial=3),
        birth_date=date(1982, 1, 2),
        sex="F",
        name="Siti",
    )
    before = counts()
    with pytest.raises(ValidationError) as exc:
        register(field_worker_lebak, desa_lebak, members=[head_data(desa_lebak), second])
    assert "members" in exc.value.message_dict
    with pytest.raises(ValidationError):
        register(field_worker_lebak, desa_lebak, members=[dict(second, relationship="spouse")])
    assert_nothing_written(before)


@pytest.mark.django_db
def test_second_head_via_member_add_is_refused(field_worker_lebak, desa_lebak):
    hh = HouseholdFactory(desa=desa_lebak)
    data = head_data(
        desa_lebak, nik=nik_for(district_code="360201", birth_date=HEAD_BIRTH, sex="M", serial=55)
    )
    with pytest.raises(ValidationError) as exc:
        services.member_add(actor=field_worker_lebak, household=hh, **data)
    assert "relationship" in exc.value.message_dict
    assert hh.members.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("field", ["monthly_expenditure", "monthly_income"])
def test_negative_rupiah_is_refused(field, field_worker_lebak, desa_lebak):
    before = counts()
    with pytest.raises(ValidationError) as exc:
        register(field_worker_lebak, desa_lebak, **{field: -1})
    assert field in exc.value.message_dict
    assert_nothing_written(before)


@pytest.mark.django_db
def test_desa_outside_area_is_refused(field_worker_lebak, desa_pandeglang):
    with pytest.raises(ValidationError) as exc:
        register(field_worker_lebak, desa_pandeglang)
    assert "desa" in exc.value.message_dict
    assert not Household.objects.exists()


@pytest.mark.django_db
def test_gps_outside_indonesia_is_refused(field_worker_lebak, desa_lebak):
    with pytest.raises(ValidationError) as exc:
        register(field_worker_lebak, desa_lebak, lat=51.5, lng=-0.12)
    assert {"lat", "lng"} <= set(exc.value.message_dict)


@pytest.mark.django_db
def test_future_birth_date_is_refused(field_worker_lebak, desa_lebak):
    future = date.today() + timedelta(days=30)
    nik = nik_for(district_code="360201", birth_date=future, sex="M", serial=9)
    with pytest.raises(ValidationError) as exc:
        register(
            field_worker_lebak,
            desa_lebak,
            members=[head_data(desa_lebak, nik=nik, birth_date=future)],
        )
    assert "members[0].birth_date" in exc.value.message_dict


@pytest.mark.django_db
@pytest.mark.parametrize("fixture", ["auditor", "csr_partner", "opd_officer", "no_role_user"])
def test_read_only_roles_cannot_register(fixture, request, desa_lebak):
    with pytest.raises(NotAllowed):
        register(request.getfixturevalue(fixture), desa_lebak)
    assert not Household.objects.exists()


@pytest.mark.django_db
def test_update_outside_scope_is_out_of_scope(field_worker_lebak, desa_pandeglang):
    hh = HouseholdFactory(desa=desa_pandeglang)
    with pytest.raises(OutOfScope):
        services.household_update(actor=field_worker_lebak, household=hh, rt="009")
    hh.refresh_from_db()
    assert hh.rt == "001"


@pytest.mark.django_db
def test_kk_change_needs_a_reason_and_is_kept(district_lebak, desa_lebak):
    hh = HouseholdFactory(desa=desa_lebak)
    old_kk = hh.no_kk
    with pytest.raises(ValidationError) as exc:
        services.household_update(actor=district_lebak, household=hh, no_kk="3602010202250001")
    assert "kk_change_reason" in exc.value.message_dict
    services.household_update(
        actor=district_lebak, household=hh, no_kk="3602010202250001", kk_change_reason="split"
    )
    change = hh.kk_changes.get()
    assert (change.old_no_kk, change.new_no_kk, change.reason) == (
        old_kk,
        "3602010202250001",
        "split",
    )
    assert change.changed_by == district_lebak


@pytest.mark.django_db
def test_stale_version_is_a_conflict(district_lebak, desa_lebak):
    hh = HouseholdFactory(desa=desa_lebak)
    services.household_update(actor=district_lebak, household=hh, expected_version=1, rt="004")
    with pytest.raises(DomainError):
        services.household_update(actor=district_lebak, household=hh, expected_version=1, rt="005")
    hh.refresh_from_db()
    assert (hh.rt, hh.version) == ("004", 2)


@pytest.mark.django_db
def test_update_keeps_history_with_the_actor(district_lebak, desa_lebak):
    hh = HouseholdFactory(desa=desa_lebak)
    services.household_update(actor=district_lebak, household=hh, monthly_expenditure=900_000)
    latest = hh.history.first()
    assert latest.history_user == district_lebak
    delta = latest.diff_against(latest.prev_record)
    assert "monthly_expenditure" in delta.changed_fields


@pytest.mark.django_db
def test_member_add_and_update_bump_the_household_version(field_worker_lebak, desa_lebak):
    hh = HouseholdFactory(desa=desa_lebak)
    child_birth = date(2015, 6, 1)
    child = services.member_add(
        actor=field_worker_lebak,
        household=hh,
        nik=nik_for(district_code="360201", birth_date=child_birth, sex="F", serial=12),
        name="Nur",
        relationship="child",
        sex="F",
        birth_date=child_birth,
        school_enrolment="enrolled",
    )
    services.member_update(actor=field_worker_lebak, member=child, school_enrolment="dropped_out")
    hh.refresh_from_db()
    assert hh.version == 3
    assert Member.objects.get(pk=child.pk).school_enrolment == "dropped_out"


@pytest.mark.django_db
def test_head_cannot_stop_being_head_by_edit(field_worker_lebak, desa_lebak):
    head = HouseholdFactory(desa=desa_lebak).members.get()
    with pytest.raises(ValidationError) as exc:
        services.member_update(actor=field_worker_lebak, member=head, relationship="spouse")
    assert "relationship" in exc.value.message_dict


@pytest.mark.django_db
def test_make_head_swaps_roles(field_worker_lebak, desa_lebak):
    hh = HouseholdFactory(desa=desa_lebak)
    old_head = hh.members.get()
    wife = MemberFactory(household=hh, relationship="spouse", sex="F", birth_date=date(1983, 5, 5))
    services.member_make_head(
        actor=field_worker_lebak, member=wife, previous_head_relationship="spouse"
    )
    assert Member.objects.get(pk=wife.pk).is_head
    assert Member.objects.get(pk=old_head.pk).relationship == "spouse"


@pytest.mark.django_db
def test_head_leaves_last(field_worker_lebak, desa_lebak):
    hh = HouseholdFactory(desa=desa_lebak)
    head = hh.members.get()
    MemberFactory(household=hh)
    with pytest.raises(ValidationError) as exc:
        services.member_leave(
            actor=field_worker_lebak, member=head, status="died", left_on=date.today()
        )
    assert "status" in exc.value.message_dict
    assert Member.objects.get(pk=head.pk).status == "active"


@pytest.mark.django_db
def test_leaving_in_the_future_is_refused(field_worker_lebak, desa_lebak):
    member = MemberFactory(household=HouseholdFactory(desa=desa_lebak))
    with pytest.raises(ValidationError) as exc:
        services.member_leave(
            actor=field_worker_lebak,
            member=member,
            status="moved_out",
            left_on=date.today() + timedelta(days=2),
        )
    assert "left_on" in exc.value.message_dict


@pytest.mark.django_db
def test_unknown_field_is_refused(field_worker_lebak, desa_lebak):
    with pytest.raises(ValidationError) as exc:
        register(field_worker_lebak, desa_lebak, colour="blue")
    assert "colour" in exc.value.message_dict
    assert not Household.objects.exists()
