"""`setup_demo`: idempotent demo set-up, one login per role, never in production."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from households.models import Household
from interventions.models import DeliveryFunding, Disbursement, Pledge
from opd.access import access_for
from opd.models import Membership, Organisation, OrganisationKind, Role

pytestmark = pytest.mark.django_db

USERNAMES = {
    "admin", "provinsi", "kab_lebak", "pendamping", "opd_dinkes", "csr", "auditor", "bank_bri",
}  # fmt: skip


def run(**options) -> str:
    out = StringIO()
    call_command("setup_demo", stdout=out, **options)
    return out.getvalue()


def test_setup_demo_twice_creates_everything_once(monkeypatch):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    first = run(households=30, seed=1)
    second = run(households=30, seed=1)

    users = get_user_model().objects.filter(username__in=USERNAMES)
    assert users.count() == 8
    assert Household.objects.count() == 30  # loaded only while the register was empty
    demo_csr = Organisation.objects.filter(name="PT Demo Peduli Banten")
    assert demo_csr.get().kind == OrganisationKind.CSR
    assert Membership.objects.filter(user__username__in=USERNAMES).count() == 7
    assert "Demo users: 8 created." in first
    assert "Demo users: 0 created." in second
    for output in (first, second):
        for username in USERNAMES:
            assert username in output
        assert "demo-banten-2026" in output
        assert "http://127.0.0.1:8000/" in output

    admin = users.get(username="admin")
    assert admin.is_superuser
    assert admin.is_staff
    assert admin.check_password("demo-banten-2026")
    assert users.get(username="provinsi").is_staff
    assert users.get(username="pendamping").get_full_name() == "Siti Nurhasanah"
    assert all(user.get_full_name() for user in users)  # pages name people, not usernames
    assert access_for(users.get(username="kab_lebak")).register_areas == ("36.02",)
    assert access_for(users.get(username="pendamping")).register_areas == ("36.02.01",)
    csr = Membership.objects.get(user__username="csr")
    assert csr.role == Role.CSR_PARTNER
    assert csr.organisation.name == "PT Demo Peduli Banten"
    assert Membership.objects.get(user__username="auditor").organisation.short_name == (
        "Inspektorat Banten"
    )
    # CSR demo: three pledges (two active with disbursements), added once.
    pledges = Pledge.objects.filter(company=demo_csr.get())
    assert sorted(pledges.values_list("status", flat=True)) == ["active", "active", "draft"]
    assert Disbursement.objects.filter(pledge__in=pledges).count() == 3
    assert all(DeliveryFunding.objects.filter(pledge__in=pledges).values_list("amount", flat=True))


def test_password_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("DEMO_PASSWORD", "another-demo-pass")
    output = run(households=0)

    user = get_user_model().objects.get(username="pendamping")
    assert user.check_password("another-demo-pass")
    assert "another-demo-pass" in output
    assert not Household.objects.exists()


def test_refuses_in_production(settings):
    settings.PRODUCTION = True

    with pytest.raises(CommandError, match="production"):
        run(households=5)
    assert not get_user_model().objects.filter(username__in=USERNAMES).exists()
    assert not Household.objects.exists()
