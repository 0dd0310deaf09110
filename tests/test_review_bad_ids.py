"""Ids that are not plain decimal numbers, or beyond a bigint, are refused, never a 500."""

import pytest
from django.core.exceptions import ValidationError

from interventions import kur

from .interventions.tier3 import bank, make_group, scheme

pytestmark = pytest.mark.django_db

SUPERSCRIPT_TWO = "\u00b2"  # "²".isdigit() is True but int("²") fails


@pytest.mark.parametrize("param", ["group", "member"])
def test_kur_form_with_a_non_decimal_id_is_refused(client, field_worker_lebak, param):
    client.force_login(field_worker_lebak)
    response = client.get("/groups/kur/new/", {param: SUPERSCRIPT_TWO})
    assert response.status_code == 403


def test_visit_form_with_a_non_decimal_household_is_404(client, field_worker_lebak):
    client.force_login(field_worker_lebak)
    assert client.get("/visits/record/", {"household": SUPERSCRIPT_TWO}).status_code == 404


def test_a_service_given_a_non_decimal_amount_names_the_field(field_worker_lebak, desa_lebak):
    group = make_group(field_worker_lebak, desa_lebak)
    with pytest.raises(ValidationError) as refused:
        kur.kur_application_create(
            actor=field_worker_lebak, group=group, scheme=scheme(), bank=bank(),
            amount=SUPERSCRIPT_TWO, tenor_months=6, purpose="Modal",
        )  # fmt: skip
    assert "amount" in refused.value.message_dict


@pytest.mark.parametrize(
    ("url", "param"),
    [
        ("/groups/graduations/", "household"),
        ("/groups/follow-ups/", "household"),
        ("/api/v1/graduations/", "household"),
        ("/api/v1/follow-ups/", "household"),
        ("/api/v1/kur-applications/", "group"),
        ("/api/v1/repayments/", "application"),
        ("/referrals/", "household"),
        ("/api/v1/referrals/", "household"),
    ],
)
def test_an_id_filter_beyond_a_bigint_is_not_a_500(client, province_admin, url, param):
    client.force_login(province_admin)
    response = client.get(url, {param: str(10**30)})
    assert response.status_code == (400 if url.startswith("/api/") else 200)
