"""Referral services and selectors: the lifecycle, every bad input, scope, quota under a lock."""

import threading
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.utils import formats, timezone, translation

from households import choices as c
from households.models import Household
from interventions import referrals as services
from interventions.evaluation import HouseholdFacts, describe_condition, evaluate
from interventions.models import (
    Case,
    Delivery,
    Programme,
    ProgrammePeriod,
    Referral,
    ReferralStatus,
    Strategy,
    Transition,
)
from interventions.recalculation import RulesInForce, read_facts, recalculate_chunk
from interventions.referral_selectors import (
    agency_totals,
    gap_rows,
    opd_inbox,
    referral_list,
    referrals_visible_to,
)
from interventions.services import household_recalculate
from opd.models import Organisation, Role
from povertycase.errors import DomainError, NotAllowed, OutOfScope
from tests.conftest import make_user
from tests.factories import MemberFactory

from .conftest import make_household


@pytest.fixture(autouse=True)
def _english(settings):
    """These tests read the English source messages."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x03\x00\x08\xfc\x02\xfe\xa7\x9a\xa0"
    b"\xa0\x00\x00\x00\x00IEND\xaeB`\x82"
)
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks need PostgreSQL"
)


def today():
    return timezone.localdate()


def make_programme(
    code, owner, needs, *, quota=None, budget=None, unit_value=100_000, eligibility=()
):
    """A programme (any agency) running today with a period around today. Direct rows: the
    catalogue services are tested elsewhere, and the concurrency test has no actor at hand."""
    programme = Programme.objects.create(
        code=code,
        name=f"Programme {code}",
        owner=Organisation.objects.get(short_name=owner),
        tier=1,
        needs=list(needs),
        funding_sources=["apbd_provinsi"],
        strategy=Strategy.REDUCE_BURDEN,
        unit="keluarga",
        unit_value=unit_value,
        eligibility=list(eligibility),
        active_from=today() - timedelta(days=400),
    )
    ProgrammePeriod.objects.create(
        programme=programme,
        name="NOW",
        starts_on=today() - timedelta(days=30),
        ends_on=today() + timedelta(days=60),
        quota=quota,
        budget=budget,
    )
    return programme


@pytest.fixture
def health(db):
    """Dinkes: the `opd_officer` fixture's agency."""
    return make_programme("T-HEALTH", "Dinkes Banten", ["health"])


@pytest.fixture
def food(db):
    return make_programme("T-FOOD", "Dinsos Banten", ["food"])


@pytest.fixture
def dinsos_officer(db):
    return make_user("opd_dinsos", Role.OPD_OFFICER, "Dinsos Banten", None)


@pytest.fixture
def household(desa_lebak):
    return make_household(desa_lebak, per_person=300_000)


@pytest.fixture
def referral(province_admin, household, health):
    return services.referral_create(
        actor=province_admin, household=household, programme=health, need="health"
    )


@pytest.fixture
def accepted(referral, opd_officer):
    return services.referral_accept(actor=opd_officer, referral=referral)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def counts():
    return (
        Referral.objects.count(),
        Referral.history.count(),
        Delivery.objects.count(),
        Delivery.history.count(),
    )


def field_errors(exc_info) -> dict:
    return exc_info.value.message_dict


# --- create -----------------------------------------------------------------------------------


def test_create_fills_the_defaults(field_worker_lebak, household, health):
    referral = services.referral_create(
        actor=field_worker_lebak, household=household, programme=health, need="health"
    )
    assert referral.status == ReferralStatus.REFERRED
    assert referral.planned_value == health.unit_value
    assert referral.due_on == today() + timedelta(days=30)
    assert referral.period == health.periods.get()
    assert referral.history.get().history_user == field_worker_lebak
    assert referral.is_open
    assert not referral.is_overdue


def _bad_creates(household, other_member):
    return [
        ({"need": "food"}, "need"),
        ({"member": other_member}, "member"),
        ({"planned_value": -5}, "planned_value"),
        ({"planned_value": 1.5}, "planned_value"),
        ({"planned_value": "1.000"}, "planned_value"),
        ({"due_on": today() - timedelta(days=1)}, "due_on"),
    ]


@pytest.mark.parametrize("case", range(6))
def test_create_refuses_bad_input_and_writes_nothing(
    field_worker_lebak, household, health, desa_lebak, case
):
    other = make_household(desa_lebak, per_person=300_000).members.get()
    kwargs, field = _bad_creates(household, other)[case]
    before = counts()
    with pytest.raises(ValidationError) as exc:
        services.referral_create(
            actor=field_worker_lebak,
            household=household,
            programme=health,
            **{"need": "health", **kwargs},
        )
    assert field in field_errors(exc)
    assert counts() == before


def test_create_refuses_a_programme_not_running_or_without_a_period(
    field_worker_lebak, household, health
):
    health.is_active = False
    health.save()
    with pytest.raises(ValidationError) as exc:
        services.referral_create(
            actor=field_worker_lebak, household=household, programme=health, need="health"
        )
    assert "running" in field_errors(exc)["programme"][0]
    health.is_active = True
    health.save()
    health.periods.update(starts_on=today() + timedelta(days=1))
    with pytest.raises(ValidationError) as exc:
        services.referral_create(
            actor=field_worker_lebak, household=household, programme=health, need="health"
        )
    assert "period" in field_errors(exc)["programme"][0]
    assert not Referral.objects.exists()


def test_create_checks_region_eligibility_and_duplicates(
    field_worker_lebak, province_admin, household, desa_pandeglang, health
):
    owners_only = make_programme(
        "T-RTLH",
        "DPRKP Banten",
        ["housing"],
        eligibility=[{"field": "ownership", "op": "==", "value": "own"}],
    )
    household.ownership = c.Ownership.RENT
    household.save()
    with pytest.raises(ValidationError) as exc:
        services.referral_create(
            actor=field_worker_lebak, household=household, programme=owners_only, need="housing"
        )
    message = field_errors(exc)["household"][0]
    assert "eligibility" in message
    assert describe_condition({"field": "ownership", "op": "==", "value": "own"}) in message

    health.target_regions.add(desa_pandeglang.parent)
    with pytest.raises(ValidationError) as exc:
        services.referral_create(
            actor=field_worker_lebak, household=household, programme=health, need="health"
        )
    assert "target regions" in field_errors(exc)["household"][0]
    health.target_regions.clear()

    services.referral_create(
        actor=field_worker_lebak, household=household, programme=health, need="health"
    )
    with pytest.raises(ValidationError) as exc:
        services.referral_create(
            actor=province_admin, household=household, programme=health, need="health"
        )
    assert "open referral" in field_errors(exc)["programme"][0]
    # a member-level referral to the same programme is another referral
    head = household.members.get()
    services.referral_create(
        actor=province_admin, household=household, programme=health, need="health", member=head
    )
    assert Referral.objects.count() == 2


@pytest.mark.parametrize(
    ("role", "error"),
    [
        ("district_pandeglang", OutOfScope),
        ("opd_officer", OutOfScope),  # nothing referred to Dinkes yet: the household is unseen
        ("csr_partner", OutOfScope),
        ("auditor", NotAllowed),
    ],
)
def test_create_scope_and_role(request, role, error, household, health):
    with pytest.raises(error):
        services.referral_create(
            actor=request.getfixturevalue(role),
            household=household,
            programme=health,
            need="health",
        )
    assert not Referral.objects.exists()


def test_bulk_is_all_or_nothing_and_names_the_refused(
    district_lebak, desa_lebak, desa_pandeglang, health
):
    good = [make_household(desa_lebak, per_person=300_000) for _ in range(3)]
    outside = make_household(desa_pandeglang, per_person=300_000)
    before = counts()
    with pytest.raises(ValidationError) as exc:
        services.referrals_create_bulk(
            actor=district_lebak, programme=health, need="health", households=[*good, outside]
        )
    messages = field_errors(exc)["households"]
    assert len(messages) == 1
    assert str(outside.pk) in messages[0]
    assert counts() == before
    with pytest.raises(ValidationError) as exc:
        services.referrals_create_bulk(
            actor=district_lebak, programme=health, need="food", households=good
        )
    assert "need" in field_errors(exc)
    made = services.referrals_create_bulk(
        actor=district_lebak, programme=health, need="health", households=good
    )
    assert sorted(r.household_id for r in made) == sorted(h.pk for h in good)
    with pytest.raises(ValidationError) as exc:  # open referrals exist now
        services.referrals_create_bulk(
            actor=district_lebak, programme=health, need="health", households=good[:1]
        )
    assert "open referral" in field_errors(exc)["households"][0]


# --- decide -----------------------------------------------------------------------------------


def test_accept_reserves_and_records_who(accepted, opd_officer):
    assert accepted.status == ReferralStatus.ACCEPTED
    assert accepted.decided_by == opd_officer
    assert accepted.decided_at
    with pytest.raises(DomainError):
        services.referral_accept(actor=opd_officer, referral=accepted)


def _two_referrals(actor, desa, programme):
    return [
        services.referral_create(
            actor=actor,
            household=make_household(desa, per_person=300_000),
            programme=programme,
            need="health",
        )
        for _ in range(2)
    ]


def test_over_quota_accept_is_refused_and_changes_nothing(province_admin, opd_officer, desa_lebak):
    programme = make_programme("T-ONE", "Dinkes Banten", ["health"], quota=1)
    first, second = _two_referrals(province_admin, desa_lebak, programme)
    services.referral_accept(actor=opd_officer, referral=first)
    before = counts()
    with pytest.raises(DomainError, match="quota"):
        services.referral_accept(actor=opd_officer, referral=second)
    second.refresh_from_db()
    assert second.status == ReferralStatus.REFERRED
    assert counts() == before


def test_over_budget_accept_is_refused_and_changes_nothing(province_admin, opd_officer, desa_lebak):
    programme = make_programme(
        "T-BUDGET", "Dinkes Banten", ["health"], budget=150_000, unit_value=100_000
    )
    first, second = _two_referrals(province_admin, desa_lebak, programme)
    services.referral_accept(actor=opd_officer, referral=first)
    before = counts()
    with pytest.raises(DomainError, match="budget"):
        services.referral_accept(actor=opd_officer, referral=second)
    second.refresh_from_db()
    assert second.status == ReferralStatus.REFERRED
    assert counts() == before


@pytest.mark.parametrize(
    ("role", "error"),
    [
        ("dinsos_officer", OutOfScope),  # another agency: the referral does not exist for it
        ("csr_partner", OutOfScope),
        ("district_pandeglang", OutOfScope),
        ("field_worker_lebak", NotAllowed),
        ("auditor", NotAllowed),
    ],
)
def test_only_the_owning_agency_decides(request, role, error, referral):
    actor = request.getfixturevalue(role)
    for action in (
        lambda: services.referral_accept(actor=actor, referral=referral),
        lambda: services.referral_reject(actor=actor, referral=referral, reason="x"),
    ):
        with pytest.raises(error):
            action()
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.REFERRED


def test_reject_needs_a_reason(referral, opd_officer):
    with pytest.raises(ValidationError) as exc:
        services.referral_reject(actor=opd_officer, referral=referral, reason="  ")
    assert "reason" in field_errors(exc)
    rejected = services.referral_reject(actor=opd_officer, referral=referral, reason="Sudah PBI")
    assert (rejected.status, rejected.rejection_reason) == (ReferralStatus.REJECTED, "Sudah PBI")
    with pytest.raises(DomainError):
        services.referral_accept(actor=opd_officer, referral=rejected)


# --- deliveries -------------------------------------------------------------------------------


def _deliver(actor, referral, **overrides):
    data = {"delivered_on": today(), "quantity": 1, "value": 42_000, **overrides}
    return services.delivery_log(actor=actor, referral=referral, **data)


def test_delivery_on_a_rejected_referral_is_refused(referral, opd_officer):
    services.referral_reject(actor=opd_officer, referral=referral, reason="Tidak memenuhi")
    before = counts()
    with pytest.raises(ValidationError) as exc:
        _deliver(opd_officer, referral)
    assert "accepted" in field_errors(exc)["referral"][0]
    assert counts() == before


def test_delivery_before_acceptance_is_refused(referral, opd_officer):
    with pytest.raises(DomainError):
        _deliver(opd_officer, referral)
    assert not Delivery.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"value": -1}, "value"),
        ({"value": 1.5}, "value"),
        ({"value": "1.000"}, "value"),
        ({"value": "abc"}, "value"),
        ({"value": True}, "value"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": 1.5}, "quantity"),
        ({"delivered_on": "2026-02-30"}, "delivered_on"),
        ({"delivered_on": timezone.localdate() + timedelta(days=1)}, "delivered_on"),
        ({"delivered_on": timezone.localdate() - timedelta(days=1)}, "delivered_on"),
    ],
)
def test_delivery_refuses_bad_input_and_writes_nothing(accepted, opd_officer, overrides, field):
    before = counts()
    with pytest.raises(ValidationError) as exc:
        _deliver(opd_officer, accepted, **overrides)
    assert field in field_errors(exc)
    assert counts() == before


def test_a_delivery_before_the_referral_names_its_date_as_people_write_it(accepted, opd_officer):
    referred_on = timezone.localdate(accepted.referred_at)
    with translation.override("id"):
        with pytest.raises(ValidationError) as exc:
            _deliver(opd_officer, accepted, delivered_on=referred_on - timedelta(days=1))
        expected = formats.date_format(referred_on, "j M Y")  # e.g. "6 Des 2026"
    message = field_errors(exc)["delivered_on"][0]
    assert expected in message
    assert referred_on.isoformat() not in message


@pytest.mark.parametrize(
    "content",
    [
        b"just text pretending to be a photo",
        b"<svg xmlns='http://www.w3.org/2000/svg'></svg>",
        b"MZ\x90\x00\x03\x00\x00\x00",
    ],
)
def test_evidence_that_is_not_an_image_or_pdf_is_refused(accepted, opd_officer, media, content):
    before = counts()
    with pytest.raises(ValidationError) as exc:
        _deliver(opd_officer, accepted, evidence=SimpleUploadedFile("foto.png", content))
    assert "PDF" in field_errors(exc)["evidence"][0]
    assert counts() == before
    assert not any(media.rglob("*.*"))


def test_evidence_over_the_size_limit_is_refused(accepted, opd_officer, media, settings):
    settings.EVIDENCE_MAX_BYTES = 1024
    before = counts()
    with pytest.raises(ValidationError) as exc:
        _deliver(opd_officer, accepted, evidence=SimpleUploadedFile("big.png", PNG + bytes(2048)))
    assert "too large" in field_errors(exc)["evidence"][0]
    assert counts() == before
    assert not any(media.rglob("*.*"))


@pytest.mark.parametrize(
    ("content", "ext"),
    [
        (PNG, "png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "jpg"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "webp"),
        (b"%PDF-1.4\n%%EOF\n", "pdf"),
    ],
)
def test_images_and_pdf_are_stored_under_a_neutral_name(accepted, opd_officer, media, content, ext):
    delivery = _deliver(
        opd_officer, accepted, evidence=SimpleUploadedFile("KK 3602 Siti.exe", content)
    )
    assert delivery.evidence.name.startswith("evidence/")
    assert delivery.evidence.name.endswith(f".{ext}")
    assert "Siti" not in delivery.evidence.name
    assert delivery.history.get().history_user == opd_officer


def test_complete_needs_a_delivery_and_queues_the_recalculation(
    accepted, opd_officer, django_capture_on_commit_callbacks
):
    with pytest.raises(DomainError, match="delivery"):
        services.referral_complete(actor=opd_officer, referral=accepted)
    _deliver(opd_officer, accepted)
    with django_capture_on_commit_callbacks() as callbacks:
        done = services.referral_complete(actor=opd_officer, referral=accepted)
    assert done.status == ReferralStatus.COMPLETED
    assert done.closed_by == opd_officer
    assert len(callbacks) == 1
    with pytest.raises(ValidationError) as exc:
        _deliver(opd_officer, done)  # completed: no more deliveries
    assert "completed" in field_errors(exc)["referral"][0]
    with pytest.raises(DomainError):
        services.referral_cancel(actor=opd_officer, referral=done, reason="x")


def test_cancel_by_referrer_or_agency_with_a_reason(
    referral, field_worker_lebak, opd_officer, auditor
):
    with pytest.raises(ValidationError) as exc:
        services.referral_cancel(actor=field_worker_lebak, referral=referral, reason="")
    assert "reason" in field_errors(exc)
    with pytest.raises(NotAllowed):
        services.referral_cancel(actor=auditor, referral=referral, reason="x")
    done = services.referral_cancel(actor=field_worker_lebak, referral=referral, reason="Pindah")
    assert (done.status, done.cancel_reason, done.closed_by) == (
        ReferralStatus.CANCELLED,
        "Pindah",
        field_worker_lebak,
    )
    assert not done.is_open


# --- scope ------------------------------------------------------------------------------------


def test_opd_officer_sees_only_households_referred_to_its_agency(
    referral, household, desa_lebak, province_admin, opd_officer, dinsos_officer, csr_partner
):
    unreferred = make_household(desa_lebak, per_person=300_000)
    dinkes = Household.objects.visible_to(opd_officer)
    assert list(dinkes.values_list("pk", flat=True)) == [household.pk]
    assert not dinkes.filter(pk=unreferred.pk).exists()
    assert not Household.objects.visible_to(dinsos_officer).exists()
    assert not Household.objects.visible_to(csr_partner).exists()
    assert list(referrals_visible_to(opd_officer)) == [referral]
    assert not referrals_visible_to(dinsos_officer).exists()
    assert not referrals_visible_to(csr_partner).exists()
    # two referrals of the same household: still one household (no join duplicates)
    head = household.members.get()
    services.referral_create(
        actor=province_admin,
        household=household,
        programme=referral.programme,
        need="health",
        member=head,
    )
    assert Household.objects.visible_to(opd_officer).count() == 1


def test_register_readers_see_referrals_by_area(
    referral, district_lebak, district_pandeglang, auditor
):
    assert referrals_visible_to(district_lebak).count() == 1
    assert referrals_visible_to(auditor).count() == 1
    assert not referrals_visible_to(district_pandeglang).exists()


def test_list_filters_and_constant_queries(
    province_admin, opd_officer, desa_lebak, health, food, django_assert_num_queries
):
    for _ in range(3):
        hh = make_household(desa_lebak, per_person=300_000)
        r = services.referral_create(
            actor=province_admin, household=hh, programme=health, need="health"
        )
        services.referral_accept(actor=opd_officer, referral=r)
        _deliver(opd_officer, r, value=10_000)
    services.referral_create(
        actor=province_admin,
        household=make_household(desa_lebak, per_person=300_000),
        programme=food,
        need="food",
    )
    with django_assert_num_queries(1):  # one query whatever the rows (access cached)
        rows = list(referral_list(province_admin))
        for row in rows:
            assert row.household.desa.name
            assert row.programme.owner.short_name
            assert row.period.name
    assert len(rows) == 4
    assert sorted(r.delivered_value for r in rows) == [0, 10_000, 10_000, 10_000]
    assert referral_list(province_admin, {"programme": "t-food"}).count() == 1
    assert referral_list(province_admin, {"owner": "Dinkes Banten"}).count() == 3
    assert referral_list(province_admin, {"status": "accepted"}).count() == 3
    assert referral_list(province_admin, {"overdue": "true"}).count() == 0
    assert referral_list(opd_officer, {}).count() == 3


def test_inbox_puts_overdue_first_and_totals_add_up(
    province_admin, opd_officer, dinsos_officer, desa_lebak, health
):
    made = [
        services.referral_create(
            actor=province_admin,
            household=make_household(desa_lebak, per_person=300_000),
            programme=health,
            need="health",
        )
        for _ in range(3)
    ]
    Referral.objects.filter(pk=made[2].pk).update(due_on=today() - timedelta(days=1))
    services.referral_accept(actor=opd_officer, referral=made[0])
    _deliver(opd_officer, made[0], value=30_000, quantity=2)
    _deliver(opd_officer, made[0], value=12_000)
    services.referral_complete(actor=opd_officer, referral=made[0])
    inbox = list(opd_inbox(opd_officer))
    assert [r.pk for r in inbox] == [made[2].pk, made[1].pk]
    assert inbox[0].is_overdue
    assert not opd_inbox(dinsos_officer).exists()
    assert not opd_inbox(province_admin).exists()
    totals = {row["code"]: row for row in agency_totals(opd_officer)}
    row = totals["T-HEALTH"]
    assert (row["open"], row["completed"], row["referred"]) == (2, 1, 2)
    assert (row["deliveries"], row["delivered_value"]) == (2, 42_000)
    assert agency_totals(dinsos_officer) == []  # no programme of Dinsos here


def test_gap_rows_suggest_programmes_and_drop_covered_needs(
    district_lebak, csr_partner, desa_lebak, django_assert_max_num_queries
):
    sanitation_big = make_programme("T-SAN-BIG", "Dinkes Banten", ["sanitation"], quota=50)
    sanitation_small = make_programme("T-SAN-SMALL", "DPUPR Banten", ["sanitation"], quota=5)
    make_programme("T-SAN-FULL", "Dinsos Banten", ["sanitation"], quota=0)
    owners = make_programme(
        "T-SAN-OWN",
        "DPRKP Banten",
        ["sanitation"],
        eligibility=[{"field": "ownership", "op": "==", "value": "own"}],
    )
    gaps = [make_household(desa_lebak, per_person=300_000, toilet=c.Toilet.NONE) for _ in range(3)]
    for hh in gaps:
        household_recalculate(household_id=hh.pk)
    with django_assert_max_num_queries(13):  # 13 with the tier 3 group facts
        rows = gap_rows(district_lebak, region_code="36.02", need="sanitation")
    assert {r["household"].pk for r in rows} == {h.pk for h in gaps}
    codes = [p.code for p in rows[0]["programmes"]]
    assert codes == ["T-SAN-BIG", "T-SAN-SMALL"]  # most room first; full and ineligible left out
    assert owners.code not in codes
    services.referral_create(
        actor=district_lebak, household=gaps[0], programme=sanitation_small, need="sanitation"
    )
    rows = gap_rows(district_lebak, need="sanitation")
    assert {r["household"].pk for r in rows} == {h.pk for h in gaps[1:]}
    assert gap_rows(district_lebak, region_code="36.01") == []
    assert gap_rows(csr_partner) == []
    assert sanitation_big.pk


# --- the engine -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_need_met_by_a_programme_reads_so():
    rules = RulesInForce.load().compiled
    facts = HouseholdFacts(toilet=c.Toilet.NONE, met_needs=("sanitation",))
    line = evaluate(facts, rules).line("need.sanitation")
    assert line.passed
    with translation.override("en"):
        assert line.text == "Sanitation: met by a programme."
    assert "sanitation" not in evaluate(facts, rules).unmet_needs
    assert HouseholdFacts.from_snapshot(facts.as_dict(), today()).met_needs == ("sanitation",)
    assert "met_needs" not in HouseholdFacts().as_dict()  # old snapshots stay as they were


@pytest.mark.parametrize("copy", [False, pytest.param(True, marks=postgres_only)])
def test_completed_referrals_feed_the_facts_and_the_evidence(
    province_admin, opd_officer, desa_lebak, health, copy
):
    household = make_household(desa_lebak, per_person=300_000)
    head = household.members.get()
    head.health_insurance = c.HealthInsurance.NONE
    head.save()
    training = make_programme("T-TRAIN", "Dinkes Banten", ["training"])
    Programme.objects.filter(pk=training.pk).update(tier=2)
    rules = RulesInForce.load()
    Case.objects.create(household=household, state="tier1", since=timezone.now())
    recalculate_chunk([household.pk], rules=rules, copy=copy)
    assert Case.objects.get(pk=household.pk).state == "tier1"

    made = []
    for programme, need, member in ((health, "health", None), (training, "training", head)):
        r = services.referral_create(
            actor=province_admin,
            household=household,
            programme=programme,
            need=need,
            member=member,
        )
        services.referral_accept(actor=opd_officer, referral=r)
        made.append((r, _deliver(opd_officer, r), _deliver(opd_officer, r)))
        services.referral_complete(actor=opd_officer, referral=r)
    facts = read_facts([household.pk], today())[household.pk]
    assert facts.met_needs == ("health",)
    assert facts.members[0].completed_training
    Case.objects.filter(pk=household.pk).update(state="tier1", fingerprint="")
    Transition.objects.all().delete()
    recalculate_chunk([household.pk], rules=rules, copy=copy)
    move = Transition.objects.get(household=household, to_state="tier2")
    assert move.evidence["referrals"] == [made[0][0].pk, made[1][0].pk]
    assert move.evidence["deliveries"] == sorted(d.pk for _r, *ds in made for d in ds)
    assert move.assessment.inputs["met_needs"] == ["health"]


# --- concurrency (PostgreSQL) -------------------------------------------------------------------


def in_thread(function):
    """Run `function` on its own thread, hence its own database connection (autocommit, outside
    the test transaction), and return its result or raise its exception."""
    result = {}

    def run():
        try:
            result["value"] = function()
        except BaseException as exc:
            result["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=60)
    if "error" in result:
        raise result["error"]
    return result.get("value")


@pytest.mark.postgres
@postgres_only
@pytest.mark.django_db
def test_two_officers_accepting_the_last_place_at_once(monkeypatch):
    """Two connections accept the last quota place at the same moment: exactly one wins.

    The rows must be committed for the other connections to see them, so setup, race and
    clean-up run on threads of their own (committed, outside the test transaction; the clean-up
    removes what they wrote, and the reference data is never flushed).
    """

    def setup():
        desa = Household._meta.get_field("desa").related_model.objects.get(code="36.02.01.2002")
        admin = make_user("race_admin", Role.PROVINCIAL_ADMIN, "Dinsos Banten", None)
        officers = [
            make_user(f"race_officer_{i}", Role.OPD_OFFICER, "Dinkes Banten", None)
            for i in range(2)
        ]
        programme = make_programme("T-RACE", "Dinkes Banten", ["health"], quota=1)
        households = [make_household(desa, per_person=300_000) for _ in range(2)]
        referrals = [
            services.referral_create(actor=admin, household=hh, programme=programme, need="health")
            for hh in households
        ]
        return admin, officers, programme, households, referrals

    admin, officers, programme, households, referrals = in_thread(setup)

    def slow_now():  # widen the window between the quota check and the commit
        time.sleep(0.5)
        return timezone.now()

    monkeypatch.setattr(
        services, "timezone", SimpleNamespace(now=slow_now, localdate=timezone.localdate)
    )
    try:
        barrier = threading.Barrier(2)
        outcomes = []

        def accept(officer, referral):
            try:
                barrier.wait(timeout=10)
                services.referral_accept(actor=officer, referral=referral)
                outcomes.append("ok")
            except DomainError as exc:
                outcomes.append(str(exc))
            finally:
                connections.close_all()

        threads = [
            threading.Thread(target=accept, args=pair)
            for pair in zip(officers, referrals, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert outcomes.count("ok") == 1, outcomes
        assert any("quota" in outcome for outcome in outcomes), outcomes
        accepted = in_thread(
            lambda: Referral.objects.filter(
                programme=programme, status=ReferralStatus.ACCEPTED
            ).count()
        )
        assert accepted == 1
    finally:

        def cleanup():
            Referral.history.filter(programme_id=programme.pk).delete()
            Referral.objects.filter(programme=programme).delete()
            ProgrammePeriod.objects.filter(programme=programme).delete()
            programme.delete()
            for hh in households:
                hh.members.all().delete()
                hh.delete()
            for user in (admin, *officers):
                user.delete()

        in_thread(cleanup)


def test_member_of_another_household_is_refused(field_worker_lebak, household, health, desa_lebak):
    stranger = MemberFactory(household=make_household(desa_lebak, per_person=300_000))
    with pytest.raises(ValidationError) as exc:
        services.referral_create(
            actor=field_worker_lebak,
            household=household,
            programme=health,
            need="health",
            member=stranger,
        )
    assert "member" in field_errors(exc)
