"""Three identical posts of one visit at the same moment (a phone retrying on a bad connection):
one visit, one recalculation. Real concurrent transactions need PostgreSQL."""

import threading
import uuid
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from households.models import Visit
from opd.models import Role
from opd.services import organisations_load
from regions.services import regions_load
from tests.conftest import MALINGPING, make_user, region
from tests.factories import HouseholdFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
]


def test_three_identical_posts_at_once_store_one_visit_and_recalculate_once():
    regions_load()
    organisations_load()
    worker = make_user("pendamping_race", Role.FIELD_WORKER, "Dinsos Banten", MALINGPING)
    household = HouseholdFactory(desa=region("36.02.01.2002"))
    data = {
        "uuid": str(uuid.uuid4()),
        "household": household.pk,
        "visited_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "household_version": household.version,
        "met": "head",
        "monthly_expenditure": 800_000,
    }
    barrier = threading.Barrier(3)
    statuses = []
    lock = threading.Lock()

    def post():
        client = Client()
        client.force_login(worker)
        try:
            barrier.wait()
            response = client.post("/api/v1/visits/", data, content_type="application/json")
            with lock:
                statuses.append(response.status_code)
        finally:
            connections.close_all()

    with mock.patch("interventions.tasks.recalculate_household.delay") as delay:
        threads = [threading.Thread(target=post) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert sorted(statuses) == [200, 200, 201]
    assert Visit.objects.filter(uuid=data["uuid"]).count() == 1
    delay.assert_called_once_with(household.pk)
