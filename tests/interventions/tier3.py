"""Helpers of the tier 3 tests: a movable clock, tier 2 people, a bank officer, a group."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from households import choices as c
from interventions import groups, kur
from interventions.models import Case, GroupStatus, KurScheme
from opd.models import Organisation, Role
from tests.conftest import make_user
from tests.factories import HouseholdFactory

from .conftest import NEEDS_MET


class Clock:
    """Moves `timezone.now` (and so `localdate`) forward by whole days."""

    def __init__(self, monkeypatch):
        self.start = timezone.now()
        self.offset = timedelta()
        monkeypatch.setattr(timezone, "now", lambda: self.start + self.offset)

    def at(self, days: int):
        self.offset = timedelta(days=days)
        return timezone.localdate()


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def tier2_person(desa, *, state="tier2", per_person=300_000):
    """The head of a one-person household, needs met, at `state` on the pathway."""
    household = HouseholdFactory(
        desa=desa,
        monthly_expenditure=per_person,
        head__health_insurance=c.HealthInsurance.PBI_JKN,
        head__work_status=c.WorkStatus.WORKING,
        **NEEDS_MET,
    )
    Case.objects.create(household=household, state=state, since=timezone.now())
    return household.members.get()


def bank_officer(short_name="BRI", username=None):
    username = username or f"bank_{short_name.lower()}"
    existing = get_user_model().objects.filter(username=username).first()
    return existing or make_user(username, Role.BANK_OFFICER, short_name, None)


def bank(short_name="BRI"):
    return Organisation.objects.get(short_name=short_name)


def scheme(code="super-mikro"):
    return KurScheme.objects.get(code=code)


def disbursed_loan(group, actor, *, bank_name="BRI", amount=6_000_000, tenor=6):
    """A KUR loan of `group`, prepared by `actor` and disbursed by the bank: (loan, officer)."""
    officer = bank_officer(bank_name)
    application = kur.kur_application_create(
        actor=actor,
        group=group,
        scheme=scheme(),
        bank=bank(bank_name),
        amount=amount,
        tenor_months=tenor,
        purpose="Modal usaha",
    )
    kur.kur_application_move(actor=actor, application=application, to_status="submitted")
    kur.kur_application_move(actor=officer, application=application, to_status="approved")
    kur.kur_application_move(actor=officer, application=application, to_status="disbursed")
    return application, officer


def make_group(actor, desa, *, members=5, name="KUBE Sejahtera", activate=True, people=()):
    group = groups.group_create(
        actor=actor,
        name=name,
        kind="kube",
        sector="Warung sembako",
        desa=desa,
        founded_on=timezone.localdate(),
        facilitator=actor,
    )
    people = list(people)
    while len(people) < members:
        people.append(tier2_person(desa))
    for index, person in enumerate(people):
        role = "chair" if index == 0 else "member"
        groups.group_member_add(actor=actor, group=group, member=person, role=role)
    if activate:
        groups.group_status_change(actor=actor, group=group, to_status=GroupStatus.ACTIVE)
        group.refresh_from_db()
    return group
