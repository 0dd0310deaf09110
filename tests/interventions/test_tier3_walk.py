"""Acceptance: one household from tier 2 to graduation, and back to tier 1 when it relapses."""

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from households import services as register
from households import visits
from interventions import groups, kur
from interventions import referrals as referral_services
from interventions.evaluation import GRADUATION_BUSINESS, TIER3_GROUP
from interventions.models import (
    BusinessGroup,
    Case,
    FollowUp,
    Graduation,
    GroupMembership,
    KurApplication,
    KurStatusChange,
    Programme,
    Repayment,
    Transition,
)
from interventions.pathway import add_months
from interventions.programmes import programmes_load
from opd.models import Role
from tests.conftest import make_user

from .tier3 import bank, bank_officer, clock, make_group, scheme, tier2_person  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def state_of(household_id):
    return Case.objects.get(pk=household_id).state


def test_one_household_from_tier2_to_graduation_and_relapse(
    clock,  # noqa: F811
    desa_lebak,
    field_worker_lebak,
    django_capture_on_commit_callbacks,
):
    run = django_capture_on_commit_callbacks
    fw = field_worker_lebak
    person = tier2_person(desa_lebak, state="tier1")
    household = person.household
    with run(execute=True):
        register.household_update(actor=fw, household=household, monthly_expenditure=300_000 + 1)
    assert state_of(household.pk) == "tier2"

    # 1. Training completed (a BLK referral of this member, delivered and completed).
    programmes_load()
    blk = Programme.objects.get(code="BLK")
    trainer = make_user("disnaker", Role.OPD_OFFICER, blk.owner.short_name, None)
    referral = referral_services.referral_create(
        actor=fw, household=household, programme=blk, need="training", member=person
    )
    today = clock.at(0)
    with run(execute=True):
        referral_services.referral_accept(actor=trainer, referral=referral)
        referral_services.delivery_log(
            actor=trainer, referral=referral, delivered_on=today, quantity=1, value=4_200_000
        )
        referral_services.referral_complete(actor=trainer, referral=referral)
    case = Case.objects.get(pk=household.pk)
    assert case.state == "tier2"  # trained, but not yet in an active group
    group_line = case.latest_assessment.result.line(TIER3_GROUP)
    assert group_line is not None
    assert not group_line.passed

    # 2. Group joined and activated: tier 3.
    with run(execute=True):
        group = make_group(fw, desa_lebak, people=[person])
    assert group.status == "active"
    assert state_of(household.pk) == "tier3"
    move = Transition.objects.filter(household=household).first()
    assert (move.from_state, move.to_state, move.kind) == ("tier2", "tier3", "automatic")
    assert "active group" in move.reason_text

    # 3. A KUR Super Mikro loan, disbursed and repaid on schedule.
    bri_officer = bank_officer("BRI")
    clock.at(1)
    application = kur.kur_application_create(
        actor=fw,
        group=group,
        scheme=scheme("super-mikro"),
        bank=bank("BRI"),
        amount=9_000_000,
        tenor_months=3,
        purpose="Modal warung",
    )
    assert (application.rate_bp, application.loan_number) == (300, 1)
    with run(execute=True):
        kur.kur_application_move(actor=fw, application=application, to_status="submitted")
        kur.kur_application_move(actor=bri_officer, application=application, to_status="approved")
        kur.kur_application_move(actor=bri_officer, application=application, to_status="disbursed")
    lines = list(application.instalments.order_by("number"))
    assert [line.amount for line in lines] == [3_022_500, 3_022_500, 3_022_500]
    assert sum(line.principal for line in lines) == 9_000_000
    for line in lines:
        clock.at((line.due_on - clock.start.date()).days)
        with run(execute=True):
            kur.repayment_record(
                actor=bri_officer, application=application, paid_on=line.due_on,
                amount=line.amount,
            )  # fmt: skip
        assert kur.application_arrears(application).amount == 0
    application.refresh_from_db()
    assert application.status == "repaid"
    assert list(application.status_changes.values_list("to_status", flat=True)) == [
        "prepared", "submitted", "approved", "disbursed", "repaying", "repaid",
    ]  # fmt: skip
    assert state_of(household.pk) == "tier3"

    # 4. Two qualifying assessments at least three months apart: graduated.
    first_day = clock.at(100)
    with run(execute=True):
        groups.business_record_save(
            actor=fw, group=group, month=first_day, revenue=6_000_000, costs=4_000_000,
            profit_per_member=400_000,
        )  # fmt: skip
        register.household_update(actor=fw, household=household, monthly_expenditure=500_000)
    assert state_of(household.pk) == "tier3"
    second_day = clock.at(196)
    with run(execute=True):
        register.household_update(actor=fw, household=household, monthly_expenditure=520_000)
    case = Case.objects.get(pk=household.pk)
    assert case.state == "graduated"
    assert case.latest_assessment.result.line(GRADUATION_BUSINESS).passed
    graduation = Graduation.objects.get(household=household)
    assert graduation.graduated_on == second_day
    assert graduation.monitoring_until == add_months(second_day, 12)
    assert graduation.status == "monitoring"
    assert graduation.transition.to_state == "graduated"
    assert graduation.evidence["groups"] == [group.pk]
    assert graduation.evidence["loans"] == [application.pk]
    assert [day for day, _spending in graduation.evidence["assessments"]] == [
        first_day.isoformat(),
        second_day.isoformat(),
    ]

    # 5. A monitoring visit finds spending below the line: relapse to tier 1, with a follow-up.
    clock.at(250)
    household.refresh_from_db()
    with run(execute=True):
        visit, created = visits.visit_record(
            actor=fw,
            household=household,
            uuid=uuid.uuid4(),
            visited_at=timezone.now(),
            household_version=household.version,
            met="head",
            monthly_expenditure=300_000,
        )
    assert created
    assert not visit.conflicts
    case = Case.objects.get(pk=household.pk)
    assert case.state == "tier1"
    relapse = Transition.objects.filter(household=household).first()
    assert (relapse.from_state, relapse.to_state, relapse.kind) == ("graduated", "tier1", "relapse")
    assert "relapse" in relapse.reason_text
    assert "below the extreme-poverty line" in relapse.reason_text
    graduation.refresh_from_db()
    assert graduation.status == "relapsed"
    assert graduation.relapse_transition == relapse
    follow_up = FollowUp.objects.get(household=household, kind="relapse")
    assert follow_up.graduation == graduation
    assert follow_up.detail["during_monitoring"]


# --- refusals: a clear field message, nothing written ------------------------------------------


def test_a_member_already_in_another_active_group_is_refused(desa_lebak, field_worker_lebak):
    group = make_group(field_worker_lebak, desa_lebak)
    person = group.memberships.first().member
    other = make_group(field_worker_lebak, desa_lebak, name="UMKM Lain", activate=False)
    before = GroupMembership.objects.count()
    with pytest.raises(ValidationError) as exc:
        groups.group_member_add(actor=field_worker_lebak, group=other, member=person)
    message = exc.value.message_dict["member"][0]
    assert "already a member of the group 'KUBE Sejahtera'" in message
    assert GroupMembership.objects.count() == before


def test_activating_a_group_below_the_minimum_is_refused(desa_lebak, field_worker_lebak):
    group = make_group(field_worker_lebak, desa_lebak, members=4, activate=False)
    with pytest.raises(ValidationError) as exc:
        groups.group_status_change(actor=field_worker_lebak, group=group, to_status="active")
    assert exc.value.message_dict["to_status"] == [
        "The group has 4 members; it needs at least 5 to become active."
    ]
    assert BusinessGroup.objects.get(pk=group.pk).status == "forming"
    assert group.status_changes.count() == 1  # only "formed"


def test_a_kur_amount_over_the_scheme_ceiling_is_refused(desa_lebak, field_worker_lebak):
    group = make_group(field_worker_lebak, desa_lebak)
    with pytest.raises(ValidationError) as exc:
        kur.kur_application_create(
            actor=field_worker_lebak, group=group, scheme=scheme("super-mikro"),
            bank=bank("BRI"), amount=10_000_001, tenor_months=12, purpose="Modal",
        )  # fmt: skip
    assert exc.value.message_dict["amount"] == [
        "Rp 10.000.001 is above the ceiling of KUR Super Mikro (Rp 10.000.000)."
    ]
    assert not KurApplication.objects.exists()
    assert not KurStatusChange.objects.exists()


def test_a_repayment_before_disbursement_is_refused(desa_lebak, field_worker_lebak, clock):  # noqa: F811
    group = make_group(field_worker_lebak, desa_lebak)
    application = kur.kur_application_create(
        actor=field_worker_lebak, group=group, scheme=scheme("super-mikro"), bank=bank("BRI"),
        amount=5_000_000, tenor_months=6, purpose="Modal",
    )  # fmt: skip
    officer = bank_officer("BRI")
    kur.kur_application_move(
        actor=field_worker_lebak, application=application, to_status="submitted"
    )
    kur.kur_application_move(actor=officer, application=application, to_status="approved")
    with pytest.raises(ValidationError) as exc:
        kur.repayment_record(
            actor=officer, application=application, paid_on=clock.at(0), amount=100_000
        )
    assert exc.value.message_dict["application"] == [
        "A repayment can only be recorded on a disbursed loan; this one is approved."
    ]
    assert not Repayment.objects.exists()
    application.refresh_from_db()
    assert application.status == "approved"


def test_the_database_keeps_one_open_group_per_person(desa_lebak, field_worker_lebak):
    from django.db import IntegrityError, transaction

    group = make_group(field_worker_lebak, desa_lebak)
    other = make_group(field_worker_lebak, desa_lebak, name="UMKM Lain", activate=False)
    person = group.memberships.first().member
    with pytest.raises(IntegrityError), transaction.atomic():
        GroupMembership.objects.create(group=other, member=person, joined_on="2026-01-01")
    closed = group.memberships.get(member=person)
    groups.group_member_leave(actor=field_worker_lebak, membership=closed)
    joined = groups.group_member_add(actor=field_worker_lebak, group=other, member=person)
    assert joined.is_open
    assert GroupMembership.objects.filter(member=person).count() == 2


def test_an_opd_officer_facilitates_a_group_and_sees_only_it(desa_lebak, field_worker_lebak):
    from interventions.group_selectors import groups_visible_to

    officer = make_user("kop_officer", Role.OPD_OFFICER, "Dinsos Banten", None)
    mine = make_group(field_worker_lebak, desa_lebak, name="Koperasi Mandiri")
    groups.group_update(actor=field_worker_lebak, group=mine, facilitator=officer)
    make_group(field_worker_lebak, desa_lebak, name="KUBE Lain")
    assert list(groups_visible_to(officer)) == [mine]
    record = groups.business_record_save(
        actor=officer, group=mine, month=mine.founded_on, revenue=1_000_000, costs=400_000
    )
    assert record.profit == 600_000


def test_a_facilitator_must_be_a_field_worker_or_an_opd_officer(
    desa_lebak, field_worker_lebak, auditor
):
    with pytest.raises(ValidationError) as exc:
        groups.group_create(
            actor=field_worker_lebak, name="X", kind="kube", sector="Warung", desa=desa_lebak,
            founded_on="2026-01-01", facilitator=auditor,
        )  # fmt: skip
    assert "facilitator" in exc.value.message_dict
    assert not BusinessGroup.objects.exists()
