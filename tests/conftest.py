"""Shared fixtures: the real regions and organisations, and one named user per role."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from rest_framework.test import APIClient

from opd.models import Membership, Organisation, OrganisationKind, Role
from opd.services import organisations_load
from regions.models import Region
from regions.services import regions_load

LEBAK = "36.02"
PANDEGLANG = "36.01"
MALINGPING = "36.02.01"  # a kecamatan in Lebak
PASSWORD = "test-pass-123"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        regions_load()
        organisations_load()
        Organisation.objects.get_or_create(
            short_name="PT Contoh",
            defaults={"name": "PT Contoh Peduli", "kind": OrganisationKind.CSR},
        )


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _tasks_in_process(request):
    """Tasks run in-process unless a test drives the real worker (marker `redis`)."""
    if request.node.get_closest_marker("redis"):
        yield
        return
    from povertycase.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = eager


def region(code: str) -> Region:
    return Region.objects.get(code=code)


def make_user(username: str, role: str | None, org_short_name: str | None, area_code: str | None):
    user = get_user_model().objects.create(
        username=username, password=make_password(PASSWORD, hasher="md5")
    )
    if role:
        Membership.objects.create(
            user=user,
            organisation=Organisation.objects.get(short_name=org_short_name),
            role=role,
            area=region(area_code) if area_code else None,
        )
    return user


@pytest.fixture
def province_admin(db):
    return make_user("provinsi", Role.PROVINCIAL_ADMIN, "Dinsos Banten", None)


@pytest.fixture
def district_lebak(db):
    return make_user("kab_lebak", Role.DISTRICT_STAFF, "Dinsos Banten", LEBAK)


@pytest.fixture
def district_pandeglang(db):
    return make_user("kab_pandeglang", Role.DISTRICT_STAFF, "Dinsos Banten", PANDEGLANG)


@pytest.fixture
def field_worker_lebak(db):
    """A pendamping scoped to kecamatan Malingping in Kabupaten Lebak."""
    return make_user("pendamping", Role.FIELD_WORKER, "Dinsos Banten", MALINGPING)


@pytest.fixture
def opd_officer(db):
    return make_user("opd_dinkes", Role.OPD_OFFICER, "Dinkes Banten", None)


@pytest.fixture
def csr_partner(db):
    return make_user("csr", Role.CSR_PARTNER, "PT Contoh", None)


@pytest.fixture
def auditor(db):
    return make_user("auditor", Role.AUDITOR, "Inspektorat Banten", None)


@pytest.fixture
def no_role_user(db):
    return make_user("norole", None, None, None)


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def desa_lebak(db):
    """A village inside the Lebak field worker's kecamatan."""
    return region("36.02.01.2002")


@pytest.fixture
def desa_pandeglang(db):
    return region("36.01.01.2001")
