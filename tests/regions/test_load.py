import pytest

from regions.models import Level, Region
from regions.reference import known_region_digits, province_codes
from regions.services import regions_load


@pytest.mark.django_db
def test_banten_hierarchy_counts():
    counts = {level: Region.objects.filter(level=level).count() for level in Level.values}
    assert counts == {"province": 1, "regency": 8, "district": 155, "village": 1552}


@pytest.mark.django_db
def test_every_region_hangs_under_its_parent_code():
    orphans = [
        r.code
        for r in Region.objects.select_related("parent").exclude(level=Level.PROVINCE)
        if r.parent is None or not r.code.startswith(r.parent.code + ".")
    ]
    assert orphans == []


@pytest.mark.django_db
def test_load_twice_changes_nothing():
    before = list(Region.objects.values_list("pk", "code", "name", "parent_id", "lat", "lng"))
    result = regions_load()
    assert (result.created, result.updated) == (0, 0)
    assert result.unchanged == 1716
    after = list(Region.objects.values_list("pk", "code", "name", "parent_id", "lat", "lng"))
    assert before == after


@pytest.mark.django_db
def test_load_repairs_a_changed_name():
    Region.objects.filter(code="36.02").update(name="Lebak (typo)")
    result = regions_load()
    assert result.updated == 1
    assert Region.objects.get(code="36.02").name == "Kabupaten Lebak"


@pytest.mark.django_db
def test_within_is_a_subtree():
    lebak = Region.objects.within("36.02")
    assert lebak.filter(level=Level.REGENCY).count() == 1
    assert not lebak.filter(code__startswith="36.01").exists()
    assert (
        lebak.filter(level=Level.VILLAGE).count()
        == Region.objects.filter(level=Level.VILLAGE, parent__parent__code="36.02").count()
    )


def test_reference_codes():
    assert len(province_codes()) == 38
    assert "36" in province_codes()
    assert "3602" in known_region_digits()
    assert "360201" in known_region_digits()
    assert "36020120" not in known_region_digits()


@pytest.mark.django_db
def test_kind_labels():
    assert str(Region.objects.get(code="36.71").kind_label) in ("City", "Kota")
    assert str(Region.objects.get(code="36.02").kind_label) in ("Regency", "Kabupaten")
