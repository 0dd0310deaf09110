"""List pages with more than one page render their page links (the filters are kept)."""

import pytest
from django.http import QueryDict
from django.utils import timezone

from interventions import groups
from opd.models import Organisation
from povertycase.views_util import page_query
from tests.interventions.conftest import new_pledge

pytestmark = pytest.mark.django_db


def test_page_query_keeps_the_filters_without_page_or_blanks():
    query = page_query(QueryDict("status=active&page=3&q=&tier=1&tier=2"))
    assert isinstance(query, QueryDict)
    assert query.urlencode() == "status=active&tier=1&tier=2"


def test_pledge_list_of_two_pages(client, province_admin):
    company = Organisation.objects.get(short_name="PT Contoh")
    for n in range(26):
        new_pledge(province_admin, company, title=f"Janji {n}")
    client.force_login(province_admin)
    response = client.get("/pledges/", {"status": "draft"})
    assert response.status_code == 200
    assert "?status=draft&amp;page=2" in response.content.decode()


def test_group_list_of_two_pages(client, field_worker_lebak, desa_lebak):
    for n in range(26):
        groups.group_create(
            actor=field_worker_lebak, name=f"KUBE {n}", kind="kube", sector="Warung",
            desa=desa_lebak, founded_on=timezone.localdate(), facilitator=field_worker_lebak,
        )  # fmt: skip
    client.force_login(field_worker_lebak)
    response = client.get("/groups/", {"kind": "kube"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "?kind=kube&amp;page=2" in response.content.decode()
