from datetime import timedelta

import pytest
from django.utils import timezone

from households import choices as c
from opd.models import Organisation, OrganisationKind, Role
from tests.conftest import make_user
from tests.factories import HouseholdFactory

# Conditions under which every basic need is met (default rules).
NEEDS_MET = {
    "water_source": c.WaterSource.PIPED,
    "toilet": c.Toilet.OWN,
    "has_septic_tank": True,
    "floor_material": c.FloorMaterial.CERAMIC,
    "wall_material": c.WallMaterial.MASONRY,
    "roof_material": c.RoofMaterial.CLAY_TILE,
    "floor_area_m2": 60,
    "lighting": c.Lighting.PLN_900,
    "meals_per_day": 3,
}


def make_household(desa, *, per_person: int, **conditions):
    """A one-person household (an insured working-age head) spending `per_person` a month."""
    fields = {**NEEDS_MET, **conditions}
    return HouseholdFactory(
        desa=desa,
        monthly_expenditure=per_person,
        head__health_insurance=c.HealthInsurance.PBI_JKN,
        head__work_status=c.WorkStatus.WORKING,
        **fields,
    )


@pytest.fixture
def needs_met_household(desa_lebak):
    return make_household(desa_lebak, per_person=300_000)


# --- CSR pledges ----------------------------------------------------------------------------------


def new_pledge(actor, company, **overrides):
    """A draft pledge of Rp 1.000.000 running from a month ago for most of a year."""
    from interventions.pledges import pledge_create

    today = timezone.localdate()
    data = {
        "title": "Sehat bersama",
        "amount": 1_000_000,
        "starts_on": today - timedelta(days=30),
        "ends_on": today + timedelta(days=300),
        **overrides,
    }
    return pledge_create(actor=actor, company=company, **data)


def deliver(actor, referral, pledge=None, **overrides):
    """Log a delivery of Rp 250.000 today (paid by ``pledge`` when given)."""
    from interventions.referrals import delivery_log

    data = {"delivered_on": timezone.localdate(), "quantity": 1, "value": 250_000, **overrides}
    return delivery_log(actor=actor, referral=referral, pledge=pledge, **data)


@pytest.fixture
def csr_company(db):
    """The `csr_partner` fixture's company."""
    return Organisation.objects.get(short_name="PT Contoh")


@pytest.fixture
def other_company(db):
    return Organisation.objects.create(
        name="PT Lain Sejahtera", short_name="PT Lain", kind=OrganisationKind.CSR
    )


@pytest.fixture
def other_csr(other_company):
    """A CSR partner of another company."""
    return make_user("csr_lain", Role.CSR_PARTNER, "PT Lain", None)


@pytest.fixture
def health(db):
    """A Dinkes programme (the `opd_officer` fixture's agency) meeting the health need."""
    from .test_referrals import make_programme

    return make_programme("T-HEALTH", "Dinkes Banten", ["health"])


@pytest.fixture
def food(db):
    from .test_referrals import make_programme

    return make_programme("T-FOOD", "Dinsos Banten", ["food"])


@pytest.fixture
def pledge(province_admin, csr_company, health):
    """A draft pledge of PT Contoh for the `health` programme."""
    return new_pledge(province_admin, csr_company, programme=health)


@pytest.fixture
def active_pledge(province_admin, pledge):
    from interventions.pledges import pledge_activate

    return pledge_activate(actor=province_admin, pledge=pledge)


@pytest.fixture
def funded_pledge(province_admin, active_pledge):
    """An active pledge with Rp 600.000 of its Rp 1.000.000 disbursed."""
    from interventions.pledges import disbursement_record

    disbursement_record(
        actor=province_admin,
        pledge=active_pledge,
        disbursed_on=timezone.localdate(),
        amount=600_000,
    )
    return active_pledge


@pytest.fixture
def accepted(province_admin, opd_officer, desa_lebak, health):
    """An accepted referral of a Lebak household to the `health` programme."""
    from interventions.referrals import referral_accept, referral_create

    household = make_household(desa_lebak, per_person=300_000)
    referral = referral_create(
        actor=province_admin, household=household, programme=health, need="health"
    )
    return referral_accept(actor=opd_officer, referral=referral)
