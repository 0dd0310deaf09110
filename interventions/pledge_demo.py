"""Demo CSR funding for ``setup_demo``: pledges of the demo company, their disbursements and
deliveries they paid for. Written through the services, like a user would; idempotent (nothing
is added once the company has a pledge)."""

from __future__ import annotations

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from households.choices import HouseholdStatus
from households.models import Household
from opd.models import Organisation
from povertycase.errors import DomainError
from regions.models import Region

from . import pledges, referrals
from .models import Pledge, Programme


def _fund(admin, programme: Programme, need: str, households, pledge: Pledge, limit: int) -> int:
    """Refer, accept and deliver to up to ``limit`` households, paid by ``pledge``."""
    funded = 0
    today = timezone.localdate()
    for household in households:
        if funded >= limit:
            break
        try:
            referral = referrals.referral_create(
                actor=admin, household=household, programme=programme, need=need
            )
            referrals.referral_accept(actor=admin, referral=referral)
            referrals.delivery_log(
                actor=admin,
                referral=referral,
                delivered_on=today,
                quantity=1,
                value=programme.unit_value,
                note="Demo",
                pledge=pledge,
            )
        except (ValidationError, DomainError):
            continue
        funded += 1
    return funded


def pledges_demo(*, admin, company: Organisation) -> int:
    """Three pledges (two active with disbursements and funded deliveries, one draft); returns
    the number of deliveries funded (0 when the company already has pledges)."""
    if Pledge.objects.filter(company=company).exists():
        return 0
    today = timezone.localdate()
    year_start, year_end = date(today.year, 1, 1), date(today.year, 12, 31)
    lebak = Region.objects.filter(code="36.02").first()
    water = Programme.objects.filter(code="SPAM").first()
    training = Programme.objects.filter(code="BLK").first()
    first = pledges.pledge_create(
        actor=admin,
        company=company,
        title="Air bersih untuk Lebak",
        amount=500_000_000,
        starts_on=year_start,
        ends_on=year_end,
        programme=water,
        region=lebak,
        tier=1,
        note="Sambungan air bersih rumah tangga miskin ekstrem.",
    )
    second = pledges.pledge_create(
        actor=admin,
        company=company,
        title="Pelatihan kerja Banten",
        amount=200_000_000,
        starts_on=year_start,
        ends_on=year_end,
        tier=2,
    )
    pledges.pledge_create(
        actor=admin,
        company=company,
        title="Usaha kelompok (KUBE) tahun depan",
        amount=300_000_000,
        starts_on=date(today.year + 1, 1, 1),
        ends_on=date(today.year + 1, 12, 31),
        tier=3,
    )
    for pledge, payments in (
        (first, [(60, 150_000_000), (10, 100_000_000)]),
        (second, [(30, 50_000_000)]),
    ):
        pledges.pledge_activate(actor=admin, pledge=pledge)
        for days_ago, amount in payments:
            pledges.disbursement_record(
                actor=admin,
                pledge=pledge,
                disbursed_on=max(today - timedelta(days=days_ago), year_start),
                amount=amount,
                note="Transfer bank (demo)",
            )
    active = Household.objects.filter(status=HouseholdStatus.ACTIVE, case__isnull=False)
    funded = 0
    if water is not None and lebak is not None:
        in_lebak = active.filter(desa__code__startswith="36.02.").order_by("pk")[:40]
        funded += _fund(admin, water, "water", in_lebak, first, 12)
    if training is not None:
        anywhere = active.exclude(desa__code__startswith="36.02.").order_by("pk")[:40]
        funded += _fund(admin, training, "training", anywhere, second, 6)
    return funded
