"""Tier 3 demo data for ``setup_demo``: a business group with members, a KUR loan being repaid,
and a graduated household. Idempotent (nothing is added once a group exists); written through
the services, except the two backdated assessments that a graduation needs (three months apart).
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from households.choices import HouseholdStatus, MemberStatus
from households.models import Household, Member
from opd.access import access_for
from opd.models import Organisation

from . import groups, kur, referrals
from .models import BusinessGroup, Case, KurScheme, Programme
from .pathway import TIER2, add_months
from .recalculation import RulesInForce, recalculate_chunk
from .referrals import current_period


def tier3_demo(*, actor_username: str, bank_username: str, facilitator_username: str) -> str:
    if BusinessGroup.objects.exists():
        return "Tier 3: groups exist already; no demo group added."
    built = _build(actor_username, bank_username, facilitator_username)
    if isinstance(built, str):
        return built
    group, people, application = built
    graduated = _graduate(people[0].household_id)
    return (
        f"Tier 3: group '{group.name}' with {len(people)} members, KUR #{application.pk} "
        f"repaying; household {people[0].household_id} {graduated}."
    )


@transaction.atomic
def _build(actor_username: str, bank_username: str, facilitator_username: str):
    users = get_user_model().objects
    actor = users.get(username=actor_username)
    bank_officer = users.get(username=bank_username)
    facilitator = users.filter(username=facilitator_username).first()
    today = timezone.localdate()
    # The kecamatan with the most tier 2 households (Malingping's first, when it has enough).
    tier2 = Household.objects.filter(status=HouseholdStatus.ACTIVE, case__state=TIER2)
    by_district: dict[str, list[Household]] = {}
    for household in tier2.select_related("desa").order_by("pk"):
        by_district.setdefault(household.desa.code[:8], []).append(household)
    ranked = sorted(by_district.items(), key=lambda kv: (kv[0] != "36.02.01", -len(kv[1])))
    ranked = [(code, rows) for code, rows in ranked if len(rows) >= 6]
    if not ranked:
        return "Tier 3: fewer than 6 tier 2 households in one kecamatan; no demo group added."
    households = ranked[0][1][:6]
    people = [
        Member.objects.filter(household=h, status=MemberStatus.ACTIVE).order_by("pk").first()
        for h in households
    ]
    chair = people[0]
    # The chair's household now spends above the extreme-poverty line (its second income).
    rules = RulesInForce.load()
    count = Member.objects.filter(household=chair.household, status=MemberStatus.ACTIVE).count()
    per_person = rules.rule_set.rules["extreme_poverty_line"] + 150_000
    Household.objects.filter(pk=chair.household_id).update(monthly_expenditure=per_person * count)
    founded = add_months(today, -6)
    group = groups.group_create(
        actor=actor,
        name="KUBE Maju Bersama",
        kind="kube",
        sector="Warung sembako dan kue basah",
        desa=households[0].desa,
        founded_on=founded,
        # the demo field worker accompanies the group only inside their own area
        facilitator=facilitator
        if facilitator and access_for(facilitator).covers(households[0].desa.code)
        else None,
    )
    # The chair completed a BLK training (the training referral, delivered and completed).
    blk = Programme.objects.filter(code="BLK").first()
    if blk is not None and current_period(blk, today) is not None:
        referral = referrals.referral_create(
            actor=actor, household=chair.household, programme=blk, need="training", member=chair
        )
        referrals.referral_accept(actor=actor, referral=referral)
        referrals.delivery_log(
            actor=actor, referral=referral, delivered_on=today, quantity=1, value=blk.unit_value
        )
        referrals.referral_complete(actor=actor, referral=referral)
    for index, person in enumerate(people):
        role = ["chair", "treasurer", "secretary"][index] if index < 3 else "member"
        groups.group_member_add(
            actor=actor, group=group, member=person, role=role, joined_on=founded
        )
    groups.group_status_change(
        actor=actor,
        group=group,
        to_status="active",
        reason="Enam anggota sudah selesai pelatihan (data demo)",
    )
    for months_ago in (3, 2, 1, 0):
        revenue = 6_000_000 + 500_000 * (3 - months_ago)
        groups.business_record_save(
            actor=actor,
            group=group,
            month=add_months(today, -months_ago).replace(day=1),
            revenue=revenue,
            costs=4_200_000,
            profit_per_member=(revenue - 4_200_000) // len(people),
        )
    # A KUR Super Mikro loan, disbursed four months ago, repaid on schedule so far.
    application = kur.kur_application_create(
        actor=actor,
        group=group,
        scheme=KurScheme.objects.get(code="super-mikro"),
        bank=Organisation.objects.get(short_name="BRI"),
        amount=9_000_000,
        tenor_months=12,
        purpose="Modal kerja warung sembako",
    )
    kur.kur_application_move(actor=actor, application=application, to_status="submitted")
    kur.kur_application_move(actor=bank_officer, application=application, to_status="approved")
    kur.kur_application_move(
        actor=bank_officer,
        application=application,
        to_status="disbursed",
        disbursed_on=add_months(today, -4),
    )
    for line in application.instalments.filter(due_on__lte=today).order_by("number"):
        kur.repayment_record(
            actor=bank_officer, application=application, paid_on=line.due_on, amount=line.amount
        )
    return group, people, application


def _graduate(household_id: int) -> str:
    """A second assessment three months before today (demo backdating), then today's."""
    rules = RulesInForce.load()
    now = timezone.now()
    recalculate_chunk([household_id], rules=rules, now=now)  # in tier 3 from today's facts
    if Case.objects.get(pk=household_id).state != "tier3":
        return "not in tier 3 (not graduated)"
    recalculate_chunk([household_id], rules=rules, now=now - timedelta(days=100))
    Household.objects.filter(pk=household_id).update(
        monthly_expenditure=F("monthly_expenditure") + 1
    )
    recalculate_chunk([household_id], rules=rules, now=now)
    state = Case.objects.get(pk=household_id).state
    return "graduated" if state == "graduated" else f"in {state} (not graduated)"
