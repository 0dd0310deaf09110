"""The visit schedule reads the pathway: graduated households are due only while monitored."""

from datetime import timedelta

import pytest
from django.utils import timezone

from households import visit_selectors
from households.models import Household
from interventions.models import Case, Graduation, GraduationStatus
from tests.factories import HouseholdFactory

pytestmark = pytest.mark.django_db


def _graduated(desa, *, status):
    household = HouseholdFactory(desa=desa)
    Household.objects.filter(pk=household.pk).update(
        created_at=timezone.now() - timedelta(days=200)
    )
    Case.objects.create(household=household, state="graduated", since=timezone.now())
    Graduation.objects.create(
        household=household,
        graduated_on=timezone.localdate() - timedelta(days=100),
        monitoring_until=timezone.localdate() + timedelta(days=265),
        status=status,
    )
    return household


def test_a_graduated_household_is_due_only_while_its_monitoring_runs(
    field_worker_lebak, desa_lebak, settings
):
    settings.VISIT_CADENCE_DAYS = {"graduated": 90}
    monitored = _graduated(desa_lebak, status=GraduationStatus.MONITORING)
    _graduated(desa_lebak, status=GraduationStatus.COMPLETED)
    rows = list(visit_selectors.due_list(field_worker_lebak))
    assert [h.pk for h in rows] == [monitored.pk]
    assert rows[0].stage == "graduated"
