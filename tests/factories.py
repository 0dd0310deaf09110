"""factory_boy factories that write valid register rows directly (services are tested apart)."""

import itertools
import uuid
from datetime import date, timedelta

import factory
from django.utils import timezone

from households import choices as c
from households.identity import nik_for
from households.models import Household, Member, Visit
from regions.models import Region

_serial = itertools.count(1)


def next_serial() -> int:
    return next(_serial) % 9999 + 1


def kk_for(desa: Region, serial: int) -> str:
    return f"{desa.digits[:6]}{date.today():%d%m%y}{serial:04d}"


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household
        skip_postgeneration_save = True

    desa = factory.LazyFunction(lambda: Region.objects.get(code="36.02.01.2002"))
    no_kk = factory.LazyAttribute(lambda o: kk_for(o.desa, next_serial()))
    rt = "001"
    rw = "002"
    address = factory.Sequence(lambda n: f"Kampung Contoh No. {n}")
    monthly_expenditure = 1_200_000
    monthly_income = 1_000_000
    registration_source = c.RegistrationSource.FIELD
    water_source = c.WaterSource.PIPED
    toilet = c.Toilet.OWN

    @factory.post_generation
    def head(self, create, extracted, **kwargs):
        if create and extracted is not False:
            MemberFactory(household=self, relationship=c.Relationship.HEAD, **kwargs)


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    household = factory.SubFactory(HouseholdFactory, head=False)
    name = factory.Sequence(lambda n: f"Warga {n}")
    relationship = c.Relationship.CHILD
    sex = c.Sex.MALE
    birth_date = date(1985, 4, 12)
    nik = factory.LazyAttribute(
        lambda o: nik_for(
            district_code=o.household.desa.digits[:6],
            birth_date=o.birth_date,
            sex=o.sex,
            serial=next_serial(),
        )
    )


class VisitFactory(factory.django.DjangoModelFactory):
    """A stored visit (no changes applied: the visit services are tested apart)."""

    class Meta:
        model = Visit

    uuid = factory.LazyFunction(uuid.uuid4)
    household = factory.SubFactory(HouseholdFactory)
    worker = None  # give the field worker
    visited_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    met = c.VisitMet.HEAD
    household_version = 1
