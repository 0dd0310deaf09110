"""REST API of CSR funding: /api/v1/pledges/, /api/v1/disbursements/, /api/v1/organisations/."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from interventions import pledges as services
from interventions.models import Delivery, DeliveryFunding, Disbursement, Pledge, PledgeStatus
from interventions.referrals import referral_reject
from opd.models import Organisation

from .conftest import deliver, new_pledge

PLEDGES = "/api/v1/pledges/"
DISBURSEMENTS = "/api/v1/disbursements/"
ORGANISATIONS = "/api/v1/organisations/"
DELIVERIES = "/api/v1/deliveries/"


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def today():
    return timezone.localdate()


def as_user(api, user):
    api.force_authenticate(user)
    return api


def pledge_body(**overrides):
    return {
        "company": "PT Contoh",
        "title": "Air bersih Lebak",
        "amount": 5_000_000,
        "starts_on": str(today()),
        "ends_on": str(today() + timedelta(days=90)),
        "region": "36.02",
        "tier": 1,
        **overrides,
    }


def counts():
    return (Pledge.objects.count(), Disbursement.objects.count(), Delivery.objects.count())


# --- pledges ----------------------------------------------------------------------------------


def test_create_read_and_walk_the_lifecycle(api, province_admin, health):
    as_user(api, province_admin)
    response = api.post(PLEDGES, pledge_body(programme="T-HEALTH"), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["company"], body["region"], body["programme"]) == (
        "draft",
        "PT Contoh",
        "36.02",
        "T-HEALTH",
    )
    assert (body["disbursed"], body["spent"], body["available"], body["undisbursed"]) == (
        0,
        0,
        0,
        5_000_000,
    )
    url = f"{PLEDGES}{body['id']}/"
    assert api.post(f"{url}activate/").json()["status"] == "active"
    assert api.post(f"{url}activate/").status_code == 409
    response = api.post(
        DISBURSEMENTS,
        {"pledge": body["id"], "disbursed_on": str(today()), "amount": 2_000_000, "note": "TRF"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["recorded_by"] == province_admin.username
    detail = api.get(url).json()
    assert (detail["disbursed"], detail["undisbursed"]) == (2_000_000, 3_000_000)
    assert [d["amount"] for d in detail["disbursements"]] == [2_000_000]
    response = api.patch(url, {"title": "Air bersih Lebak 2026"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["title"] == "Air bersih Lebak 2026"
    assert api.post(f"{url}close/").json()["status"] == "closed"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": -1}, "amount"),
        ({"amount": 1.5}, "amount"),
        ({"amount": "1.000.000"}, "amount"),
        ({"amount": 0}, "amount"),
        ({"ends_on": "2020-01-01"}, "ends_on"),
        ({"starts_on": "kemarin"}, "starts_on"),
        ({"company": "Dinkes Banten"}, "company"),
        ({"company": "Tidak Ada"}, "company"),
        ({"programme": "NOPE"}, "programme"),
        ({"region": "99.99"}, "region"),
        ({"tier": 7}, "tier"),
        ({"title": ""}, "title"),
    ],
)
def test_create_refuses_bad_input_with_field_errors(api, province_admin, overrides, field):
    response = as_user(api, province_admin).post(PLEDGES, pledge_body(**overrides), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert Pledge.objects.count() == 0


@pytest.mark.parametrize(
    ("amount", "status", "field"),
    [(600_000, 201, None), (-5, 400, "amount"), (2.5, 400, "amount"), (1_000_001, 400, "amount")],
)
def test_disbursement_amounts(api, province_admin, active_pledge, amount, status, field):
    body = {"pledge": active_pledge.pk, "disbursed_on": str(today()), "amount": amount}
    response = as_user(api, province_admin).post(DISBURSEMENTS, body, format="json")
    assert response.status_code == status, response.content
    if field:
        assert field in response.json()
        assert not Disbursement.objects.exists()


def test_disbursement_over_the_remaining_pledge_names_the_amount(
    api, province_admin, funded_pledge
):
    body = {"pledge": funded_pledge.pk, "disbursed_on": str(today()), "amount": 400_001}
    response = as_user(api, province_admin).post(DISBURSEMENTS, body, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "amount": ["Only Rp 400.000 of the pledge is left to disburse; Rp 400.001 is too much."]
    }
    assert Disbursement.objects.count() == 1


def test_csr_partner_sees_only_its_companys_pledges(
    api, province_admin, csr_partner, other_csr, other_company, pledge
):
    theirs = new_pledge(province_admin, other_company)
    as_user(api, csr_partner)
    assert [row["id"] for row in api.get(PLEDGES).json()["results"]] == [pledge.pk]
    assert api.get(f"{PLEDGES}{theirs.pk}/").status_code == 404
    assert api.patch(f"{PLEDGES}{theirs.pk}/", {"title": "x"}, format="json").status_code == 404
    assert api.post(f"{PLEDGES}{theirs.pk}/cancel/", {"reason": "x"}).status_code == 404
    response = api.post(
        DISBURSEMENTS,
        {"pledge": theirs.pk, "disbursed_on": str(today()), "amount": 1},
        format="json",
    )
    assert response.status_code == 400
    assert "pledge" in response.json()
    assert Pledge.objects.get(pk=theirs.pk).title == "Sehat bersama"
    assert not Disbursement.objects.exists()
    assert api.get(f"{DISBURSEMENTS}?pledge={theirs.pk}").json()["results"] == []


def test_csr_partner_drafts_its_own_and_cannot_activate(api, csr_partner, other_company):
    as_user(api, csr_partner)
    response = api.post(PLEDGES, pledge_body(), format="json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert api.post(f"{PLEDGES}{pk}/activate/").status_code == 403
    response = api.post(PLEDGES, pledge_body(company="PT Lain"), format="json")
    assert response.status_code == 400
    assert "company" in response.json()
    response = api.post(f"{PLEDGES}{pk}/cancel/", {"reason": "Salah input"}, format="json")
    assert response.json()["status"] == PledgeStatus.CANCELLED


@pytest.mark.parametrize(("role", "status"), [("no_role_user", 403), ("opd_officer", 403)])
def test_who_may_not_create(db, api, request, role, status):
    user = request.getfixturevalue(role)
    response = as_user(api, user).post(PLEDGES, pledge_body(), format="json")
    assert response.status_code == status
    assert not Pledge.objects.exists()


def test_anonymous_is_refused(api):
    assert api.get(PLEDGES).status_code in (401, 403)
    assert api.get(ORGANISATIONS).status_code in (401, 403)


def test_funded_deliveries_carry_no_personal_data(
    api, csr_partner, opd_officer, province_admin, funded_pledge, accepted
):
    deliver(opd_officer, accepted, funded_pledge, value=250_000)
    rows = as_user(api, csr_partner).get(f"{PLEDGES}{funded_pledge.pk}/").json()["deliveries"]
    assert rows == [
        {
            "delivery": Delivery.objects.get().pk,
            "delivered_on": str(today()),
            "programme": "T-HEALTH",
            "programme_name": "Programme T-HEALTH",
            "quantity": 1,
            "value": 250_000,
            "referral": None,
        }
    ]
    staff = as_user(api, province_admin).get(f"{PLEDGES}{funded_pledge.pk}/").json()
    assert staff["deliveries"][0]["referral"] == accepted.pk
    assert (staff["spent"], staff["available"], staff["funded_deliveries"]) == (
        250_000,
        350_000,
        1,
    )


def test_pledge_filters(api, province_admin, csr_company, health):
    new_pledge(province_admin, csr_company, title="Satu", programme=health)
    other = new_pledge(province_admin, csr_company, title="Dua", tier=2)
    services.pledge_activate(actor=province_admin, pledge=other)
    as_user(api, province_admin)

    def titles(query):
        return sorted(row["title"] for row in api.get(f"{PLEDGES}?{query}").json()["results"])

    assert titles("status=active") == ["Dua"]
    assert titles("programme=T-HEALTH") == ["Satu"]
    assert titles("tier=2") == ["Dua"]
    assert titles("company=PT%20Contoh") == ["Dua", "Satu"]
    assert titles("q=sat") == ["Satu"]
    assert api.get(f"{PLEDGES}?status=nope").status_code == 400


def test_pledge_list_has_constant_queries(
    api, django_assert_max_num_queries, province_admin, csr_company, health, opd_officer, accepted
):
    for i in range(6):
        pledge = new_pledge(province_admin, csr_company, title=f"P{i}", programme=health)
        services.pledge_activate(actor=province_admin, pledge=pledge)
        services.disbursement_record(
            actor=province_admin, pledge=pledge, disbursed_on=today(), amount=300_000
        )
        deliver(opd_officer, accepted, pledge, value=1_000)
    as_user(api, province_admin)
    api.get(PLEDGES)
    with django_assert_max_num_queries(4):
        response = api.get(PLEDGES)
    assert len(response.json()["results"]) == 6
    with django_assert_max_num_queries(4):
        assert len(api.get(DISBURSEMENTS).json()["results"]) == 6
    with django_assert_max_num_queries(4):
        assert api.get(ORGANISATIONS).json()["count"] > 20


def test_ids_that_are_not_numbers_are_404(api, province_admin):
    as_user(api, province_admin)
    for url in (f"{PLEDGES}abc/", f"{PLEDGES}99999999999999999999999/", f"{DISBURSEMENTS}x/"):
        assert api.get(url).status_code == 404


# --- deliveries paid by a pledge ------------------------------------------------------------------


def test_delivery_names_the_pledge(api, opd_officer, funded_pledge, accepted):
    body = {
        "referral": accepted.pk,
        "delivered_on": str(today()),
        "quantity": 1,
        "value": 200_000,
        "pledge": funded_pledge.pk,
    }
    response = as_user(api, opd_officer).post(DELIVERIES, body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["pledge"] == funded_pledge.pk
    assert DeliveryFunding.objects.get().amount == 200_000


@pytest.mark.parametrize(
    ("setup", "value"),
    [("draft", 1_000), ("closed", 1_000), ("other_target", 1_000), ("active", 600_001)],
)
def test_delivery_refuses_a_pledge_that_cannot_pay(
    api,
    province_admin,
    opd_officer,
    csr_company,
    funded_pledge,
    pledge,
    accepted,
    food,
    setup,
    value,
):
    if setup == "draft":
        chosen = new_pledge(province_admin, csr_company, programme=accepted.programme)
    elif setup == "closed":
        chosen = services.pledge_close(actor=province_admin, pledge=funded_pledge)
    elif setup == "other_target":
        chosen = new_pledge(province_admin, csr_company, programme=food)
        services.pledge_activate(actor=province_admin, pledge=chosen)
        services.disbursement_record(
            actor=province_admin, pledge=chosen, disbursed_on=today(), amount=10_000
        )
    else:
        chosen = funded_pledge
    body = {
        "referral": accepted.pk,
        "delivered_on": str(today()),
        "quantity": 1,
        "value": value,
        "pledge": chosen.pk,
    }
    response = as_user(api, opd_officer).post(DELIVERIES, body, format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["pledge"]
    assert not Delivery.objects.exists()


@pytest.mark.parametrize("close", ["reject", "cancel"])
def test_delivery_on_a_closed_referral_is_a_400_field_error(
    api, province_admin, opd_officer, health, desa_lebak, close, accepted
):
    from interventions.referrals import referral_cancel, referral_create

    from .conftest import make_household

    if close == "reject":
        referral = referral_create(
            actor=province_admin,
            household=make_household(desa_lebak, per_person=300_000),
            programme=health,
            need="health",
        )
        referral_reject(actor=opd_officer, referral=referral, reason="Tidak memenuhi")
    else:
        referral = referral_cancel(actor=opd_officer, referral=accepted, reason="Pindah")
    body = {"referral": referral.pk, "delivered_on": str(today()), "quantity": 1, "value": 1}
    response = as_user(api, opd_officer).post(DELIVERIES, body, format="json")
    assert response.status_code == 400, response.content
    assert "referral" in response.json()
    assert not Delivery.objects.exists()


# --- organisations ------------------------------------------------------------------------------


def test_organisations_are_visible_appropriately(
    api, province_admin, csr_partner, other_company, no_role_user
):
    as_user(api, csr_partner)
    names = {
        row["short_name"] for row in api.get(f"{ORGANISATIONS}?page_size=200").json()["results"]
    }
    assert "PT Contoh" in names
    assert "Dinkes Banten" in names
    assert "PT Lain" not in names
    assert api.get(f"{ORGANISATIONS}{other_company.pk}/").status_code == 404
    as_user(api, province_admin)
    response = api.get(f"{ORGANISATIONS}?kind=csr&page_size=200").json()
    assert {"PT Contoh", "PT Lain"} <= {row["short_name"] for row in response["results"]}
    assert all(row["kind"] == "csr" for row in response["results"])
    dinkes = Organisation.objects.get(short_name="Dinkes Banten")
    assert api.get(f"{ORGANISATIONS}?q=dinkes").json()["results"][0]["id"] == dinkes.pk
    assert as_user(api, no_role_user).get(ORGANISATIONS).json()["results"] == []


def test_openapi_documents_the_new_endpoints(api, province_admin):
    schema = as_user(api, province_admin).get("/api/v1/schema/?format=json").json()
    for path in (
        "/api/v1/pledges/",
        "/api/v1/pledges/{id}/activate/",
        "/api/v1/disbursements/",
        "/api/v1/organisations/",
    ):
        assert path in schema["paths"], path
    parameters = {p["name"] for p in schema["paths"]["/api/v1/pledges/"]["get"]["parameters"]}
    assert {"company", "status", "programme", "tier", "region", "running"} <= parameters
