"""The synthetic demo loader: valid, unique identity numbers, plausible families, fast writes."""

from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, Q
from django.utils import timezone

from households import choices as c
from households.demo import EXTREME_LINE, load_demo
from households.models import Household, KkChange, Member
from households.validation import kk_check, nik_check
from regions.reference import population_by_regency
from tests.factories import HouseholdFactory

pytestmark = pytest.mark.django_db


def test_load_demo_creates_valid_households():
    out = StringIO()
    call_command("load_demo", households=60, seed=1, stdout=out)

    assert Household.objects.count() == 60
    assert "60 households" in out.getvalue()
    heads = Household.objects.annotate(
        heads=Count("members", filter=Q(members__relationship="head", members__status="active"))
    )
    assert set(heads.values_list("heads", flat=True)) == {1}
    assert not Household.objects.exclude(desa__level="village").exists()
    assert KkChange.objects.filter(reason=c.KkChangeReason.FIRST).count() == 60

    members = list(Member.objects.all())
    assert 60 * 3 <= len(members) <= 60 * 6  # about 4-5 people per household
    for member in members:
        check = nik_check(member.nik, birth_date=member.birth_date, sex=member.sex)
        assert not check.errors, (member.nik, member.birth_date, member.sex, check.errors)
    assert len({m.nik for m in members}) == len(members)

    kks = list(Household.objects.values_list("no_kk", flat=True))
    assert len(set(kks)) == len(kks)
    for kk in kks:
        assert not kk_check(kk).errors, kk


def test_households_look_plausible():
    load_demo(households=120, seed=7)

    for household in Household.objects.prefetch_related("members"):
        assert household.lat is not None
        assert household.lng is not None
        assert household.address.startswith("Kp. ")
        assert household.no_kk.startswith(household.desa.digits[:6])
        assert isinstance(household.monthly_expenditure, int)
        head = next(m for m in household.members.all() if m.is_head)
        for member in household.members.all():
            if member.relationship == c.Relationship.CHILD:
                assert member.birth_date > head.birth_date
            if member.relationship == c.Relationship.PARENT:
                assert member.birth_date < head.birth_date
    # Most NIKs were first registered in the household's own kecamatan.
    own = Member.objects.filter(nik__startswith=Household.objects.first().desa.digits[:6])
    assert own.exists()
    school_age = Member.objects.exclude(school_enrolment=c.SchoolEnrolment.NOT_SCHOOL_AGE)
    enrolled = school_age.filter(school_enrolment=c.SchoolEnrolment.ENROLLED).count()
    assert enrolled > school_age.count() / 2
    assert Household.objects.filter(desil__lte=4).count() > Household.objects.count() / 2


def test_expenditure_classes_are_mixed():
    load_demo(households=200, seed=3)

    classes = Counter()
    for household in Household.objects.annotate(size=Count("members")):
        per_person = household.monthly_expenditure / household.size
        if per_person < EXTREME_LINE:
            classes["extreme"] += 1
        elif per_person < 720_000:
            classes["poor"] += 1
        else:
            classes["non_poor"] += 1
    assert all(15 <= classes[k] / 2 <= 50 for k in ("extreme", "poor", "non_poor")), classes
    extreme = Household.objects.filter(desil=1, floor_material=c.FloorMaterial.EARTH)
    assert extreme.exists()


def test_spread_follows_population():
    load_demo(households=400, seed=11)

    per_regency = Counter(
        code[:5] for code in Household.objects.values_list("desa__code", flat=True)
    )
    assert set(per_regency) == set(population_by_regency())
    assert per_regency.most_common(1)[0][0] == "36.03"  # Kabupaten Tangerang, the biggest


def test_running_twice_adds_more_without_clashes():
    HouseholdFactory()  # an existing household with its own numbers
    load_demo(households=50, seed=5)
    load_demo(households=50, seed=5)  # same seed: the same draws, so serials must move on

    assert Household.objects.count() == 101
    niks = list(Member.objects.values_list("nik", flat=True))
    assert len(set(niks)) == len(niks)
    kks = list(Household.objects.values_list("no_kk", flat=True))
    assert len(set(kks)) == len(kks)


def test_seed_reproduces_the_draws():
    first = load_demo(households=10, seed=42)
    names_first = list(Member.objects.order_by("id").values_list("name", flat=True))
    Member.objects.all().delete()
    KkChange.objects.all().delete()
    Household.objects.all().delete()
    load_demo(households=10, seed=42)
    names_second = list(Member.objects.order_by("id").values_list("name", flat=True))

    assert first.households == 10
    assert names_first == names_second


def test_writes_in_bulk(django_assert_max_num_queries):
    load_demo(households=5, seed=1)  # warm up the reference caches
    with django_assert_max_num_queries(100):  # reads and batched inserts; per row: 1,600+
        load_demo(households=300, seed=2, chunk_size=100)


def test_registrations_are_spread_over_twelve_weeks_and_older_households_keep_their_date():
    existing = HouseholdFactory()
    load_demo(households=120, seed=9)
    today = timezone.now()
    weeks = {
        (today - created).days // 7
        for created in Household.objects.exclude(pk=existing.pk).values_list(
            "created_at", flat=True
        )
    }
    assert weeks == set(range(12))
    existing_created = Household.objects.get(pk=existing.pk).created_at
    assert (today - existing_created).days == 0
