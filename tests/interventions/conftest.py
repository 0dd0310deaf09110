import pytest

from households import choices as c
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
