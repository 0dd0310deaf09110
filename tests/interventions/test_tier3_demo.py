"""The tier 3 demo of setup_demo: a group with members, a loan being repaid, a graduation."""

import pytest

from interventions.demo_tier3 import tier3_demo
from interventions.models import BusinessGroup, Case, Graduation, KurApplication
from interventions.programmes import programmes_load

from .tier3 import bank_officer, tier2_person

pytestmark = pytest.mark.django_db


def test_demo_builds_a_group_a_loan_and_a_graduation_once(
    desa_lebak, province_admin, field_worker_lebak
):
    programmes_load()
    bank_officer("BRI", username="bank_bri")
    people = [tier2_person(desa_lebak) for _ in range(6)]
    message = tier3_demo(
        actor_username="provinsi", bank_username="bank_bri", facilitator_username="pendamping"
    )
    assert "graduated" in message
    group = BusinessGroup.objects.get()
    assert (group.status, group.memberships.filter(is_open=True).count()) == ("active", 6)
    assert group.business_records.count() == 4
    loan = KurApplication.objects.get()
    assert loan.status == "repaying"
    assert loan.repayments.count() == 4
    chair = people[0].household_id
    assert Case.objects.get(pk=chair).state == "graduated"
    assert Graduation.objects.get().evidence["loans"] == [loan.pk]
    assert "no demo group added" in tier3_demo(
        actor_username="provinsi", bank_username="bank_bri", facilitator_username="pendamping"
    )
