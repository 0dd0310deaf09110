"""Pages of CSR funding: list, detail, forms, the CSR partner's dashboard, and the delivery form's
pledge choice."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from interventions.models import Delivery, Disbursement, Pledge, PledgeStatus
from interventions.referrals import referral_accept, referral_create

from .conftest import deliver, make_household, new_pledge


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def today():
    return timezone.localdate()


def login(client, user):
    client.force_login(user)
    return client


def detail_url(pledge):
    return reverse("pledges:detail", args=[pledge.pk])


def form_data(**overrides):
    return {
        "company": "",
        "title": "Air bersih",
        "amount": "5000000",
        "starts_on": today().isoformat(),
        "ends_on": (today() + timedelta(days=60)).isoformat(),
        "programme": "",
        "region": "36.02",
        "tier": "",
        "note": "",
        **overrides,
    }


# --- access -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("province_admin", 200),
        ("auditor", 200),
        ("district_lebak", 200),
        ("opd_officer", 200),
        ("csr_partner", 200),
        ("other_csr", 404),
        ("no_role_user", 403),
    ],
)
def test_detail_per_role(client, request, role, status, active_pledge):
    response = login(client, request.getfixturevalue(role)).get(detail_url(active_pledge))
    assert response.status_code == status
    if status == 200:
        assert active_pledge.title in response.text


def test_list_shows_own_pledges_to_the_csr_partner(
    client, csr_partner, other_company, pledge, province_admin
):
    theirs = new_pledge(province_admin, other_company, title="Milik PT Lain")
    response = login(client, csr_partner).get(reverse("pledges:list"))
    assert response.status_code == 200
    assert detail_url(pledge) in response.text
    assert detail_url(theirs) not in response.text
    assert "PT Lain" not in response.text  # not even in the company filter


def test_list_filters_with_htmx_and_constant_queries(
    client, django_assert_max_num_queries, province_admin, csr_company, health
):
    for i in range(5):
        new_pledge(province_admin, csr_company, title=f"Janji {i}", programme=health)
    new_pledge(province_admin, csr_company, title="Lain", tier=2)
    login(client, province_admin)
    client.get(reverse("pledges:list"))
    with django_assert_max_num_queries(12):
        response = client.get(
            reverse("pledges:list"), {"programme": "T-HEALTH"}, HTTP_HX_REQUEST="true"
        )
    assert response.status_code == 200
    assert "Janji 4" in response.text
    assert "Lain" not in response.text
    assert "<html" not in response.text


def test_csr_partner_lands_on_its_dashboard(client, csr_partner):
    response = login(client, csr_partner).get(reverse("home"))
    assert response.status_code == 302
    assert response.url == reverse("pledges:dashboard")


# --- forms ------------------------------------------------------------------------------------


def test_admin_records_activates_and_disburses(client, province_admin, csr_company):
    login(client, province_admin)
    response = client.post(reverse("pledges:create"), form_data(company=csr_company.pk))
    pledge = Pledge.objects.get()
    assert response.status_code == 302
    assert (pledge.status, pledge.region.code, pledge.created_by) == (
        PledgeStatus.DRAFT,
        "36.02",
        province_admin,
    )
    assert client.post(reverse("pledges:activate", args=[pledge.pk])).status_code == 302
    response = client.post(
        reverse("pledges:disburse", args=[pledge.pk]),
        {"disbursed_on": today().isoformat(), "amount": "2000000", "note": "TRF-1"},
    )
    assert response.status_code == 302
    page = client.get(detail_url(pledge)).text
    assert "Rp 2.000.000" in page
    assert 'aria-valuenow="40"' in page  # 40 % disbursed
    assert "TRF-1" in page


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": "-5"}, "amount"),
        ({"amount": "1.5"}, "amount"),
        ({"amount": "1.000.000"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"ends_on": "2020-01-01"}, "ends_on"),
        ({"title": ""}, "title"),
    ],
)
def test_pledge_form_refuses_bad_input(client, province_admin, csr_company, overrides, field):
    response = login(client, province_admin).post(
        reverse("pledges:create"), form_data(company=csr_company.pk, **overrides)
    )
    assert response.status_code == 200
    assert f'id="id_{field}_error"' in response.text, response.text
    assert not Pledge.objects.exists()


@pytest.mark.parametrize(
    ("amount", "field"), [("-1", "amount"), ("2.5", "amount"), ("1000001", "amount")]
)
def test_disbursement_form_refuses_bad_input(client, province_admin, active_pledge, amount, field):
    response = login(client, province_admin).post(
        reverse("pledges:disburse", args=[active_pledge.pk]),
        {"disbursed_on": today().isoformat(), "amount": amount},
    )
    assert response.status_code == 200
    assert f'id="id_{field}_error"' in response.text
    assert not Disbursement.objects.exists()


def test_csr_partner_drafts_for_its_own_company(client, csr_partner, csr_company, other_company):
    login(client, csr_partner)
    page = client.get(reverse("pledges:create")).text
    assert "PT Lain" not in page
    response = client.post(reverse("pledges:create"), form_data(company=other_company.pk))
    assert response.status_code == 200
    assert 'id="id_company_error"' in response.text
    response = client.post(reverse("pledges:create"), form_data(company=csr_company.pk))
    assert response.status_code == 302
    pledge = Pledge.objects.get()
    assert client.get(reverse("pledges:edit", args=[pledge.pk])).status_code == 200
    assert client.post(reverse("pledges:activate", args=[pledge.pk])).status_code == 403
    assert client.get(reverse("pledges:disburse", args=[pledge.pk])).status_code == 403
    response = client.post(reverse("pledges:cancel", args=[pledge.pk]), {"cancel-reason": "Salah"})
    assert response.status_code == 302
    assert Pledge.objects.get().status == PledgeStatus.CANCELLED


def test_other_company_gets_404_on_every_page(client, other_csr, pledge):
    login(client, other_csr)
    for name in ("detail", "edit", "activate", "close", "cancel", "disburse"):
        method = client.get if name in ("detail", "edit", "disburse") else client.post
        assert method(reverse(f"pledges:{name}", args=[pledge.pk])).status_code == 404, name
    assert Pledge.objects.get().status == PledgeStatus.DRAFT


def test_edit_of_an_active_pledge_keeps_the_amount_above_disbursed(
    client, province_admin, funded_pledge
):
    data = form_data(
        company=funded_pledge.company_id,
        amount="100",
        starts_on=funded_pledge.starts_on.isoformat(),
        ends_on=funded_pledge.ends_on.isoformat(),
        programme=funded_pledge.programme_id,
        region="",
    )
    response = login(client, province_admin).post(
        reverse("pledges:edit", args=[funded_pledge.pk]), data
    )
    assert response.status_code == 200
    assert 'id="id_amount_error"' in response.text
    assert Pledge.objects.get().amount == 1_000_000


# --- delivery form ------------------------------------------------------------------------------


def test_referral_page_offers_the_matching_pledge(client, opd_officer, funded_pledge, accepted):
    login(client, opd_officer)
    page = client.get(reverse("referrals:detail", args=[accepted.pk])).text
    assert 'name="pledge"' in page
    assert "Rp 600.000 available" in page
    response = client.post(
        reverse("referrals:deliver", args=[accepted.pk]),
        {
            "delivered_on": today().isoformat(),
            "quantity": "1",
            "value": "100000",
            "pledge": str(funded_pledge.pk),
        },
    )
    assert response.status_code == 302
    assert Delivery.objects.get().funding.pledge == funded_pledge
    page = client.get(reverse("referrals:detail", args=[accepted.pk])).text
    assert f'Paid by <a href="{detail_url(funded_pledge)}">PT Contoh</a>' in page


def test_delivery_form_refuses_spending_beyond_the_pledge(
    client, opd_officer, funded_pledge, accepted
):
    response = login(client, opd_officer).post(
        reverse("referrals:deliver", args=[accepted.pk]),
        {
            "delivered_on": today().isoformat(),
            "quantity": "1",
            "value": "600001",
            "pledge": str(funded_pledge.pk),
        },
    )
    assert response.status_code == 200
    assert 'id="id_pledge_error"' in response.text
    assert not Delivery.objects.exists()


def test_inbox_offers_pledges_without_a_query_per_row(
    client,
    django_assert_max_num_queries,
    province_admin,
    opd_officer,
    funded_pledge,
    health,
    desa_lebak,
):
    for _ in range(4):
        referral = referral_create(
            actor=province_admin,
            household=make_household(desa_lebak, per_person=300_000),
            programme=health,
            need="health",
        )
        referral_accept(actor=opd_officer, referral=referral)
    login(client, opd_officer)
    client.get(reverse("referrals:inbox"))
    with django_assert_max_num_queries(14):
        page = client.get(reverse("referrals:inbox")).text
    assert page.count("Rp 600.000 available") == 4


# --- dashboard ----------------------------------------------------------------------------------


def test_dashboard_shows_aggregates_with_small_cells_hidden(
    client,
    csr_partner,
    province_admin,
    opd_officer,
    funded_pledge,
    health,
    desa_lebak,
    desa_pandeglang,
):
    households = [make_household(desa_lebak, per_person=300_000) for _ in range(4)]
    households.append(make_household(desa_pandeglang, per_person=300_000))
    for household in households:
        referral = referral_create(
            actor=province_admin, household=household, programme=health, need="health"
        )
        referral_accept(actor=opd_officer, referral=referral)
        deliver(opd_officer, referral, funded_pledge, value=10_000)
    response = login(client, csr_partner).get(reverse("pledges:dashboard"))
    assert response.status_code == 200
    page = response.text
    assert "Households reached" in page
    assert "Kabupaten Lebak" in page
    # Lebak 4, Pandeglang 1: Pandeglang is hidden, and so is Lebak (else 5 - 4 = 1).
    outcomes = response.context["outcomes"]
    assert str(outcomes.households) == "5"
    assert [str(row["count"]) for row in outcomes.by_region] == ["*", "*"]
    assert '<th class="text-end">*</th>' in page
    for household in households:
        assert household.no_kk not in page
        assert household.address not in page
        for member in household.members.all():
            assert member.name not in page
            assert member.nik not in page


@pytest.mark.parametrize(("role", "status"), [("opd_officer", 403), ("no_role_user", 403)])
def test_dashboard_per_role(db, client, request, role, status):
    assert (
        login(client, request.getfixturevalue(role)).get(reverse("pledges:dashboard")).status_code
        == status
    )


def test_admin_picks_a_company_on_the_dashboard(client, province_admin, pledge, other_company):
    login(client, province_admin)
    response = client.get(reverse("pledges:dashboard"), {"company": "PT Contoh"})
    assert response.status_code == 200
    assert pledge.title in response.text
    assert client.get(reverse("pledges:dashboard"), {"company": "Nope"}).status_code == 404


def test_csr_partner_cannot_pick_another_company(client, csr_partner, other_company):
    response = login(client, csr_partner).get(reverse("pledges:dashboard"), {"company": "PT Lain"})
    assert response.status_code == 404


def test_cancel_needs_a_reason_in_the_page(client, province_admin, pledge):
    response = login(client, province_admin).post(
        reverse("pledges:cancel", args=[pledge.pk]), {"cancel-reason": ""}
    )
    assert response.status_code == 200
    assert "Give a reason." in response.text
    assert Pledge.objects.get().status == PledgeStatus.DRAFT


def test_a_pledge_sent_when_none_can_pay_is_refused_not_dropped(client, opd_officer, accepted):
    response = login(client, opd_officer).post(
        reverse("referrals:deliver", args=[accepted.pk]),
        {"delivered_on": today().isoformat(), "quantity": "1", "value": "1", "pledge": "999"},
    )
    assert response.status_code == 200
    assert 'id="id_pledge_error"' in response.text
    assert not Delivery.objects.exists()


def test_dashboard_and_detail_have_constant_queries(
    client,
    django_assert_max_num_queries,
    csr_partner,
    province_admin,
    opd_officer,
    funded_pledge,
    csr_company,
    health,
    desa_lebak,
):
    for i in range(4):
        new_pledge(province_admin, csr_company, title=f"Janji {i}")
        referral = referral_create(
            actor=province_admin,
            household=make_household(desa_lebak, per_person=300_000),
            programme=health,
            need="health",
        )
        referral_accept(actor=opd_officer, referral=referral)
        deliver(opd_officer, referral, funded_pledge, value=10_000)
    login(client, csr_partner)
    client.get(reverse("pledges:dashboard"))
    with django_assert_max_num_queries(12):
        response = client.get(reverse("pledges:dashboard"))
    assert response.context["outcomes"].deliveries == 4
    assert len(response.context["pledges"]) == 5
    # The four drafts are not in the totals.
    assert response.context["totals"] == {
        "amount": "Rp 1.000.000",
        "disbursed": "Rp 600.000",
        "spent": "Rp 40.000",
    }
    with django_assert_max_num_queries(12):
        response = client.get(detail_url(funded_pledge))
    assert len(response.context["deliveries"]) == 4
