"""CSR pledges, disbursements and the deliveries they pay for (services and selectors)."""

import threading
import time
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connections
from django.utils import timezone, translation

from interventions import pledges as services
from interventions import referrals
from interventions.models import (
    Delivery,
    DeliveryFunding,
    Disbursement,
    Pledge,
    PledgeStatus,
)
from interventions.pledge_selectors import (
    disbursements_visible_to,
    fundable_pledges,
    organisations_visible_to,
    pledge_list,
    pledges_for,
    pledges_visible_to,
    realisation,
    with_money,
)
from opd.models import Organisation, Role
from povertycase.errors import DomainError, NotAllowed, OutOfScope
from regions.models import Region
from tests.conftest import make_user

from .conftest import deliver, make_household, new_pledge
from .test_referrals import in_thread, make_programme, postgres_only


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def today():
    return timezone.localdate()


@pytest.fixture
def household(desa_lebak):
    return make_household(desa_lebak, per_person=300_000)


def counts():
    return (
        Pledge.objects.count(),
        Pledge.history.count(),
        Disbursement.objects.count(),
        Disbursement.history.count(),
        Delivery.objects.count(),
        DeliveryFunding.objects.count(),
    )


def money(pledge):
    return realisation(with_money(Pledge.objects.filter(pk=pledge.pk)).get())


# --- pledge lifecycle -------------------------------------------------------------------------


def test_create_is_a_draft_with_history(province_admin, csr_company, health):
    pledge = new_pledge(province_admin, csr_company, programme=health, tier=1, note=" Air ")
    assert pledge.status == PledgeStatus.DRAFT
    assert (pledge.created_by, pledge.note, pledge.tier) == (province_admin, "Air", 1)
    assert pledge.history.get().history_user == province_admin


def test_lifecycle_draft_active_closed(province_admin, pledge):
    services.pledge_activate(actor=province_admin, pledge=pledge)
    assert (pledge.status, pledge.activated_at is not None) == (PledgeStatus.ACTIVE, True)
    with pytest.raises(DomainError, match="draft"):
        services.pledge_activate(actor=province_admin, pledge=pledge)
    services.pledge_close(actor=province_admin, pledge=pledge)
    assert pledge.status == PledgeStatus.CLOSED
    assert [h.status for h in pledge.history.order_by("history_date")] == [
        "draft",
        "active",
        "closed",
    ]
    with pytest.raises(DomainError):
        services.pledge_update(actor=province_admin, pledge=pledge, title="Baru")
    with pytest.raises(DomainError):
        services.pledge_cancel(actor=province_admin, pledge=pledge, reason="x")


def test_cancel_needs_a_reason_and_nothing_disbursed(province_admin, funded_pledge, csr_company):
    with pytest.raises(ValidationError) as exc:
        services.pledge_cancel(actor=province_admin, pledge=funded_pledge, reason=" ")
    assert "reason" in exc.value.message_dict
    with pytest.raises(DomainError, match="close it"):
        services.pledge_cancel(actor=province_admin, pledge=funded_pledge, reason="Batal")
    draft = new_pledge(province_admin, csr_company)
    services.pledge_cancel(actor=province_admin, pledge=draft, reason="Batal")
    assert (draft.status, draft.cancel_reason) == (PledgeStatus.CANCELLED, "Batal")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": -5}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": 1.5}, "amount"),
        ({"amount": "1.000"}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": None}, "amount"),
        ({"title": " "}, "title"),
        ({"starts_on": "2026-02-30"}, "starts_on"),
        ({"ends_on": date(2020, 1, 1)}, "ends_on"),
        ({"starts_on": date(1, 1, 1), "ends_on": date(1, 12, 31)}, "starts_on"),
        ({"ends_on": date(2099, 1, 1)}, "ends_on"),
        ({"tier": 4}, "tier"),
    ],
)
def test_create_refuses_bad_input_and_writes_nothing(province_admin, csr_company, overrides, field):
    before = counts()
    with pytest.raises(ValidationError) as exc:
        new_pledge(province_admin, csr_company, **overrides)
    assert field in exc.value.message_dict
    assert counts() == before


def test_end_before_start_names_the_end(province_admin, csr_company):
    with pytest.raises(ValidationError) as exc:
        new_pledge(province_admin, csr_company, starts_on=today(), ends_on=today() - timedelta(1))
    assert exc.value.message_dict == {"ends_on": ["The end date cannot be before the start date."]}


def test_company_must_be_a_csr_company_and_tier_must_match(province_admin, health):
    with pytest.raises(ValidationError) as exc:
        new_pledge(province_admin, Organisation.objects.get(short_name="Dinkes Banten"))
    assert "company" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        new_pledge(
            province_admin,
            Organisation.objects.get(short_name="PT Contoh"),
            programme=health,
            tier=2,
        )
    assert "tier" in exc.value.message_dict


def test_csr_partner_drafts_for_its_own_company_only(csr_partner, csr_company, other_company):
    pledge = new_pledge(csr_partner, csr_company)
    assert pledge.status == PledgeStatus.DRAFT
    with pytest.raises(ValidationError) as exc:
        new_pledge(csr_partner, other_company)
    assert "company" in exc.value.message_dict
    services.pledge_update(actor=csr_partner, pledge=pledge, amount=2_000_000)
    assert pledge.amount == 2_000_000
    with pytest.raises(NotAllowed):
        services.pledge_activate(actor=csr_partner, pledge=pledge)
    with pytest.raises(NotAllowed):
        services.disbursement_record(
            actor=csr_partner, pledge=pledge, disbursed_on=today(), amount=1
        )


def test_csr_partner_cannot_change_an_active_pledge(csr_partner, active_pledge):
    with pytest.raises(NotAllowed):
        services.pledge_update(actor=csr_partner, pledge=active_pledge, title="Lain")
    with pytest.raises(NotAllowed):
        services.pledge_cancel(actor=csr_partner, pledge=active_pledge, reason="x")


def test_another_companys_pledge_does_not_exist_for_a_csr_partner(other_csr, pledge):
    before = counts()
    for call in (
        lambda: services.pledge_update(actor=other_csr, pledge=pledge, title="x"),
        lambda: services.pledge_cancel(actor=other_csr, pledge=pledge, reason="x"),
        lambda: services.pledge_activate(actor=other_csr, pledge=pledge),
        lambda: services.disbursement_record(
            actor=other_csr, pledge=pledge, disbursed_on=today(), amount=1
        ),
    ):
        with pytest.raises(OutOfScope):
            call()
    assert counts() == before


@pytest.mark.parametrize("role", ["opd_officer", "district_lebak", "auditor", "no_role_user"])
def test_other_roles_do_not_record_pledges(request, role, csr_company):
    with pytest.raises(NotAllowed):
        new_pledge(request.getfixturevalue(role), csr_company)


def test_amount_never_below_disbursed(province_admin, funded_pledge):
    with pytest.raises(ValidationError) as exc:
        services.pledge_update(actor=province_admin, pledge=funded_pledge, amount=500_000)
    assert "amount" in exc.value.message_dict
    services.pledge_update(actor=province_admin, pledge=funded_pledge, amount=600_000)
    assert Pledge.objects.get(pk=funded_pledge.pk).amount == 600_000


# --- disbursements ----------------------------------------------------------------------------


def test_disbursements_add_up_to_the_pledge_at_most(province_admin, active_pledge):
    services.disbursement_record(
        actor=province_admin,
        pledge=active_pledge,
        disbursed_on=today(),
        amount=700_000,
        note="TRF 1",
    )
    before = counts()
    with pytest.raises(ValidationError) as exc:
        services.disbursement_record(
            actor=province_admin, pledge=active_pledge, disbursed_on=today(), amount=300_001
        )
    assert exc.value.message_dict["amount"] == [
        "Only Rp 300.000 of the pledge is left to disburse; Rp 300.001 is too much."
    ]
    assert counts() == before
    last = services.disbursement_record(
        actor=province_admin, pledge=active_pledge, disbursed_on=today(), amount=300_000
    )
    assert (last.recorded_by, last.history.get().history_user) == (province_admin,) * 2
    assert money(active_pledge).disbursed == 1_000_000


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": -1}, "amount"),
        ({"amount": 0}, "amount"),
        ({"amount": 2.5}, "amount"),
        ({"amount": "12,5"}, "amount"),
        ({"disbursed_on": "kemarin"}, "disbursed_on"),
        ({"disbursed_on": timezone.localdate() + timedelta(days=1)}, "disbursed_on"),
    ],
)
def test_disbursement_refuses_bad_input_and_writes_nothing(
    province_admin, active_pledge, overrides, field
):
    before = counts()
    data = {"disbursed_on": today(), "amount": 1_000, **overrides}
    with pytest.raises(ValidationError) as exc:
        services.disbursement_record(actor=province_admin, pledge=active_pledge, **data)
    assert field in exc.value.message_dict
    assert counts() == before


def test_disbursement_only_on_an_active_pledge(province_admin, pledge):
    with pytest.raises(ValidationError) as exc:
        services.disbursement_record(
            actor=province_admin, pledge=pledge, disbursed_on=today(), amount=1
        )
    assert "draft" in exc.value.message_dict["pledge"][0]
    assert not Disbursement.objects.exists()


# --- deliveries paid by a pledge --------------------------------------------------------------


def test_a_delivery_paid_by_a_pledge_counts_as_spent(opd_officer, funded_pledge, accepted):
    delivery = deliver(opd_officer, accepted, funded_pledge, value=250_000)
    assert delivery.funding.pledge == funded_pledge
    assert delivery.funding.amount == 250_000
    figures = money(funded_pledge)
    assert (figures.pledged, figures.disbursed, figures.spent) == (1_000_000, 600_000, 250_000)
    assert (figures.available, figures.undisbursed) == (350_000, 400_000)
    assert (figures.disbursed_percent, figures.spent_percent) == (60, 25)


def test_a_pledge_pays_only_up_to_disbursed_and_unspent(opd_officer, funded_pledge, accepted):
    deliver(opd_officer, accepted, funded_pledge, value=400_000)
    before = counts()
    with pytest.raises(ValidationError) as exc:
        deliver(opd_officer, accepted, funded_pledge, value=200_001)
    assert exc.value.message_dict["pledge"] == [
        "The pledge has only Rp 200.000 disbursed and not yet spent; this delivery is worth "
        "Rp 200.001."
    ]
    assert counts() == before
    deliver(opd_officer, accepted, funded_pledge, value=200_000)
    assert money(funded_pledge).available == 0


def test_a_pledge_for_another_target_is_refused(
    province_admin, opd_officer, csr_company, accepted, food, desa_pandeglang
):
    before_targets = []
    for overrides in (
        {"programme": food},
        {"tier": 2},
        {"region": Region.objects.get(code="36.01")},
        {"starts_on": today() + timedelta(days=1), "ends_on": today() + timedelta(days=9)},
    ):
        other = new_pledge(province_admin, csr_company, **overrides)
        services.pledge_activate(actor=province_admin, pledge=other)
        if other.starts_on <= today():
            services.disbursement_record(
                actor=province_admin, pledge=other, disbursed_on=today(), amount=500_000
            )
        before_targets.append(other)
    before = counts()
    for other in before_targets:
        with pytest.raises(ValidationError) as exc:
            deliver(opd_officer, accepted, other)
        assert list(exc.value.message_dict) == ["pledge"], other
    assert counts() == before


def test_a_pledge_for_the_kecamatan_or_kabupaten_matches(
    province_admin, opd_officer, csr_company, accepted
):
    for code in ("36.02", "36.02.01"):
        pledge = new_pledge(
            province_admin, csr_company, region=Region.objects.get(code=code), tier=1
        )
        services.pledge_activate(actor=province_admin, pledge=pledge)
        services.disbursement_record(
            actor=province_admin, pledge=pledge, disbursed_on=today(), amount=300_000
        )
        assert deliver(opd_officer, accepted, pledge).funding.pledge == pledge


def test_a_pledge_that_is_not_active_is_refused(
    province_admin, opd_officer, funded_pledge, accepted, pledge
):
    services.pledge_close(actor=province_admin, pledge=funded_pledge)
    for candidate in (funded_pledge,):
        with pytest.raises(ValidationError) as exc:
            deliver(opd_officer, accepted, candidate)
        assert "closed" in exc.value.message_dict["pledge"][0]
    assert not Delivery.objects.exists()


def test_a_draft_pledge_is_unknown_to_the_officer(
    province_admin, opd_officer, csr_company, accepted
):
    draft = new_pledge(province_admin, csr_company)
    with pytest.raises(ValidationError) as exc:
        deliver(opd_officer, accepted, draft)
    assert exc.value.message_dict["pledge"] == ["Unknown pledge."]
    assert not Delivery.objects.exists()


def test_delivery_on_a_closed_referral_is_a_referral_field_error(
    province_admin, opd_officer, household, health, funded_pledge
):
    referral = referrals.referral_create(
        actor=province_admin, household=household, programme=health, need="health"
    )
    referrals.referral_reject(actor=opd_officer, referral=referral, reason="Tidak memenuhi")
    with pytest.raises(ValidationError) as exc:
        deliver(opd_officer, referral, funded_pledge)
    assert list(exc.value.message_dict) == ["referral"]
    assert "rejected" in exc.value.message_dict["referral"][0]
    assert not Delivery.objects.exists()


def test_fundable_pledges_match_the_referral(
    opd_officer, funded_pledge, accepted, food, province_admin
):
    services.disbursement_record(
        actor=province_admin, pledge=funded_pledge, disbursed_on=today(), amount=1
    )
    rows = fundable_pledges(opd_officer)
    assert rows == [funded_pledge]
    assert pledges_for(rows, accepted) == [funded_pledge]
    accepted.programme = food
    assert pledges_for(rows, accepted) == []


# --- scope ------------------------------------------------------------------------------------


def test_scope_of_pledges(
    province_admin,
    auditor,
    district_lebak,
    csr_partner,
    other_csr,
    opd_officer,
    csr_company,
    no_role_user,
    health,
    food,
):
    own = new_pledge(province_admin, csr_company, programme=health)
    services.pledge_activate(actor=province_admin, pledge=own)
    draft = new_pledge(province_admin, csr_company)
    theirs = new_pledge(other_csr, Organisation.objects.get(short_name="PT Lain"))
    for_food = new_pledge(province_admin, csr_company, programme=food)
    services.pledge_activate(actor=province_admin, pledge=for_food)
    everything = {own, draft, theirs, for_food}

    def seen(user):
        return set(pledges_visible_to(user))

    assert seen(province_admin) == seen(auditor) == seen(district_lebak) == everything
    assert seen(csr_partner) == {own, draft, for_food}
    assert seen(other_csr) == {theirs}
    assert seen(opd_officer) == {own}  # Dinkes: its programme's active pledge, no drafts
    assert seen(no_role_user) == set()
    assert set(disbursements_visible_to(other_csr)) == set()


def test_a_csr_partner_sees_agencies_and_its_own_company_only(
    csr_partner, other_company, province_admin
):
    seen = set(organisations_visible_to(csr_partner))
    assert Organisation.objects.get(short_name="PT Contoh") in seen
    assert other_company not in seen
    assert Organisation.objects.get(short_name="Dinkes Banten") in seen
    assert other_company in set(organisations_visible_to(province_admin))


def test_pledge_list_has_constant_queries(
    django_assert_num_queries, province_admin, csr_company, opd_officer, funded_pledge, accepted
):
    deliver(opd_officer, accepted, funded_pledge)
    for i in range(4):
        new_pledge(province_admin, csr_company, title=f"P{i}")
    with django_assert_num_queries(2):  # the company filter's value, the pledges
        rows = list(pledge_list(province_admin, {"company": "PT Contoh"}))
        assert [(r.company.short_name, r.programme and r.programme.code) for r in rows]
    assert {r.pk: (r.disbursed, r.spent, r.funded_count) for r in rows}[funded_pledge.pk] == (
        600_000,
        250_000,
        1,
    )


def test_pledge_filters(province_admin, csr_company, health):
    lebak = new_pledge(province_admin, csr_company, region=Region.objects.get(code="36.02"))
    kecamatan = new_pledge(province_admin, csr_company, region=Region.objects.get(code="36.02.01"))
    pandeglang = new_pledge(province_admin, csr_company, region=Region.objects.get(code="36.01"))
    anywhere = new_pledge(province_admin, csr_company, programme=health, tier=1)
    later = new_pledge(
        province_admin,
        csr_company,
        starts_on=today() + timedelta(days=10),
        ends_on=today() + timedelta(days=20),
    )

    def ids(**params):
        return {p.pk for p in pledge_list(province_admin, params)}

    assert ids(region="36.02") == {lebak.pk, kecamatan.pk, anywhere.pk, later.pk}
    assert pandeglang.pk not in ids(region="36.02.01")
    assert ids(programme="t-health") == {anywhere.pk}
    assert ids(tier="1") == {anywhere.pk}
    assert later.pk not in ids(running="true")
    assert ids(running="false") == {later.pk}
    assert ids(status="active") == set()
    assert ids(q="sehat") == ids()


# --- concurrency (PostgreSQL) -------------------------------------------------------------------


@pytest.mark.postgres
@postgres_only
@pytest.mark.django_db
def test_two_disbursements_at_once_never_exceed_the_pledge(monkeypatch):
    """Two connections disburse Rp 600.000 each against a Rp 1.000.000 pledge at the same
    moment: one wins, the other is refused, the total stays within the pledge."""

    def setup():
        admins = [
            make_user(f"race_pledge_admin_{i}", Role.PROVINCIAL_ADMIN, "Dinsos Banten", None)
            for i in range(2)
        ]
        csr_company = Organisation.objects.get(short_name="PT Contoh")
        pledge = new_pledge(admins[0], csr_company, title="Race")
        services.pledge_activate(actor=admins[0], pledge=pledge)
        return admins, pledge

    admins, pledge = in_thread(setup)

    disbursed_total = services.disbursed_total

    def slow_disbursed_total(pledge_id):  # widen the window between the check and the commit
        time.sleep(1)
        return disbursed_total(pledge_id)

    monkeypatch.setattr(services, "disbursed_total", slow_disbursed_total)
    try:
        barrier = threading.Barrier(2)
        outcomes = []

        def disburse(admin):
            try:
                barrier.wait(timeout=10)
                services.disbursement_record(
                    actor=admin, pledge=pledge, disbursed_on=date.today(), amount=600_000
                )
                outcomes.append("ok")
            except ValidationError as exc:
                outcomes.append(exc.message_dict)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=disburse, args=(admin,)) for admin in admins]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert outcomes.count("ok") == 1, outcomes
        assert any(isinstance(o, dict) and "amount" in o for o in outcomes), outcomes
        total = in_thread(lambda: disbursed_total(pledge.pk))
        assert total == 600_000
    finally:

        def cleanup():
            Disbursement.history.filter(pledge_id=pledge.pk).delete()
            Disbursement.objects.filter(pledge_id=pledge.pk).delete()
            Pledge.history.filter(id=pledge.pk).delete()
            Pledge.objects.filter(pk=pledge.pk).delete()
            for admin in admins:
                admin.delete()

        in_thread(cleanup)


@pytest.mark.postgres
@postgres_only
@pytest.mark.django_db
def test_two_deliveries_at_once_never_spend_more_than_disbursed(monkeypatch):
    """Two officers log deliveries of Rp 400.000 each on a pledge with Rp 600.000 disbursed:
    one is paid by the pledge, the other is refused."""

    def setup():
        desa = Region.objects.get(code="36.02.01.2002")
        admin = make_user("race_fund_admin", Role.PROVINCIAL_ADMIN, "Dinsos Banten", None)
        officers = [
            make_user(f"race_fund_officer_{i}", Role.OPD_OFFICER, "Dinkes Banten", None)
            for i in range(2)
        ]
        programme = make_programme("T-FUND", "Dinkes Banten", ["health"])
        pledge = new_pledge(admin, Organisation.objects.get(short_name="PT Contoh"), title="Race")
        services.pledge_activate(actor=admin, pledge=pledge)
        services.disbursement_record(
            actor=admin, pledge=pledge, disbursed_on=date.today(), amount=600_000
        )
        households = [make_household(desa, per_person=300_000) for _ in range(2)]
        accepted = []
        for household in households:
            referral = referrals.referral_create(
                actor=admin, household=household, programme=programme, need="health"
            )
            accepted.append(referrals.referral_accept(actor=admin, referral=referral))
        return admin, officers, programme, pledge, households, accepted

    admin, officers, programme, pledge, households, accepted = in_thread(setup)
    spent_total = services.spent_total

    def slow_spent_total(pledge_id):  # widen the window between the check and the commit
        time.sleep(1)
        return spent_total(pledge_id)

    monkeypatch.setattr(services, "spent_total", slow_spent_total)
    try:
        barrier = threading.Barrier(2)
        outcomes = []

        def log(officer, referral):
            try:
                barrier.wait(timeout=10)
                deliver(officer, referral, pledge, value=400_000)
                outcomes.append("ok")
            except ValidationError as exc:
                outcomes.append(exc.message_dict)
            finally:
                connections.close_all()

        threads = [
            threading.Thread(target=log, args=pair) for pair in zip(officers, accepted, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert outcomes.count("ok") == 1, outcomes
        assert any(isinstance(o, dict) and "pledge" in o for o in outcomes), outcomes
        assert in_thread(lambda: spent_total(pledge.pk)) == 400_000
    finally:

        def cleanup():
            from interventions.models import ProgrammePeriod, Referral

            DeliveryFunding.history.filter(pledge_id=pledge.pk).delete()
            DeliveryFunding.objects.filter(pledge_id=pledge.pk).delete()
            Delivery.history.filter(referral_id__in=[r.pk for r in accepted]).delete()
            Delivery.objects.filter(referral__programme=programme).delete()
            Referral.history.filter(programme_id=programme.pk).delete()
            Referral.objects.filter(programme=programme).delete()
            ProgrammePeriod.objects.filter(programme=programme).delete()
            programme.delete()
            Disbursement.history.filter(pledge_id=pledge.pk).delete()
            Disbursement.objects.filter(pledge_id=pledge.pk).delete()
            Pledge.history.filter(id=pledge.pk).delete()
            Pledge.objects.filter(pk=pledge.pk).delete()
            for household in households:
                household.members.all().delete()
                household.delete()
            for user in (admin, *officers):
                user.delete()

        in_thread(cleanup)
