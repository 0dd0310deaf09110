"""Referral pages: list, detail and actions, the referral form, the OPD inbox and the gap finder."""

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from interventions import referrals as services
from interventions.models import Delivery, Programme, Referral
from interventions.programmes import programme_create, programme_period_create
from opd.models import Organisation, Role
from tests.conftest import make_user
from tests.interventions.conftest import make_household


@pytest.fixture(autouse=True)
def _english(settings):
    """These tests read the English source messages."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def today() -> date:
    return timezone.localdate()


def make_programme(actor, code="SEHAT", owner="Dinkes Banten", needs=("health",), **extra):
    programme = programme_create(
        actor=actor,
        code=code,
        name=f"Programme {code}",
        owner=Organisation.objects.get(short_name=owner),
        tier=1,
        needs=list(needs),
        funding_sources=["apbd_provinsi"],
        strategy="reduce_burden",
        unit="paket",
        unit_value=150_000,
        active_from=today() - timedelta(days=400),
        **extra,
    )
    programme_period_create(
        actor=actor,
        programme=programme,
        name=str(today().year),
        starts_on=today() - timedelta(days=30),
        ends_on=today() + timedelta(days=300),
    )
    return programme


@pytest.fixture
def programme(province_admin) -> Programme:
    return make_programme(province_admin)


@pytest.fixture
def household(desa_lebak):
    return make_household(desa_lebak, per_person=300_000)


@pytest.fixture
def referral(province_admin, household, programme) -> Referral:
    return services.referral_create(
        actor=province_admin, household=household, programme=programme, need="health"
    )


@pytest.fixture
def other_officer(db):
    return make_user("opd_dinsos", Role.OPD_OFFICER, "DKP Banten", None)


def accepted(referral, officer) -> Referral:
    return services.referral_accept(actor=officer, referral=referral)


def login(client, user):
    client.force_login(user)
    return client


def detail_url(referral) -> str:
    return reverse("referrals:detail", args=[referral.pk])


# --- who sees what ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status", "listed"),
    [
        ("province_admin", 200, True),
        ("district_lebak", 200, True),
        ("field_worker_lebak", 200, True),
        ("auditor", 200, True),
        ("opd_officer", 200, True),
        ("other_officer", 200, False),
        ("district_pandeglang", 200, False),
        ("csr_partner", 403, False),
        ("no_role_user", 403, False),
    ],
)
def test_list_per_role(client, request, referral, role, status, listed):
    response = login(client, request.getfixturevalue(role)).get(reverse("referrals:list"))
    assert response.status_code == status
    if status == 200:
        assert (detail_url(referral) in response.text) is listed


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("province_admin", 200),
        ("auditor", 200),
        ("opd_officer", 200),
        ("other_officer", 404),
        ("district_pandeglang", 404),
        ("csr_partner", 403),
        ("no_role_user", 403),
    ],
)
def test_detail_per_role(client, request, referral, role, status):
    response = login(client, request.getfixturevalue(role)).get(detail_url(referral))
    assert response.status_code == status
    if status == 200:
        assert referral.programme.code in response.text
        assert referral.household.no_kk not in response.text  # masked


def test_actions_follow_the_role(client, referral, opd_officer, auditor, field_worker_lebak):
    page = login(client, opd_officer).get(detail_url(referral)).text
    assert reverse("referrals:accept", args=[referral.pk]) in page
    assert reverse("referrals:reject", args=[referral.pk]) in page
    page = login(client, auditor).get(detail_url(referral)).text
    assert reverse("referrals:accept", args=[referral.pk]) not in page
    assert reverse("referrals:cancel", args=[referral.pk]) not in page
    page = login(client, field_worker_lebak).get(detail_url(referral)).text
    assert reverse("referrals:accept", args=[referral.pk]) not in page
    assert reverse("referrals:cancel", args=[referral.pk]) in page


def test_other_agency_cannot_act(client, referral, other_officer):
    response = login(client, other_officer).post(reverse("referrals:accept", args=[referral.pk]))
    assert response.status_code == 404
    referral.refresh_from_db()
    assert referral.status == "referred"


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("opd_officer", 200),
        ("other_officer", 200),
        ("province_admin", 403),
        ("csr_partner", 403),
        ("no_role_user", 403),
    ],
)
def test_inbox_per_role(client, request, referral, role, status):
    response = login(client, request.getfixturevalue(role)).get(reverse("referrals:inbox"))
    assert response.status_code == status
    if role == "opd_officer":
        assert detail_url(referral) in response.text
    if role == "other_officer":
        assert detail_url(referral) not in response.text


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("province_admin", 200),
        ("district_lebak", 200),
        ("auditor", 200),
        ("opd_officer", 403),
        ("csr_partner", 403),
        ("no_role_user", 403),
    ],
)
def test_gap_finder_per_role(client, request, role, status):
    response = login(client, request.getfixturevalue(role)).get(reverse("referrals:gaps"))
    assert response.status_code == status


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("field_worker_lebak", 200),
        ("district_lebak", 200),
        ("district_pandeglang", 404),
        ("auditor", 403),
        ("opd_officer", 403),
        ("csr_partner", 403),
    ],
)
def test_create_form_per_role(client, request, household, programme, role, status):
    url = reverse("referrals:create") + f"?household={household.pk}"
    response = login(client, request.getfixturevalue(role)).get(url)
    assert response.status_code == status
    if status == 200:
        assert programme.code in response.text


def test_csr_partner_gets_no_personal_data(client, referral, csr_partner):
    login(client, csr_partner)
    for url in (
        reverse("referrals:list"),
        detail_url(referral),
        reverse("referrals:inbox"),
        reverse("referrals:gaps"),
        reverse("referrals:create") + f"?household={referral.household_id}",
    ):
        response = client.get(url)
        assert response.status_code == 403
        assert referral.household.no_kk not in response.text


# --- create -----------------------------------------------------------------------------------


def test_refer_through_the_form(client, field_worker_lebak, household, programme):
    url = reverse("referrals:create") + f"?household={household.pk}"
    response = login(client, field_worker_lebak).post(
        url, {"programme": programme.pk, "need": "health", "note": "Sakit"}
    )
    referral = Referral.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(referral)
    assert (referral.household, referral.programme, referral.need) == (
        household,
        programme,
        "health",
    )


def test_refer_refuses_a_need_the_programme_does_not_meet(
    client, field_worker_lebak, household, programme
):
    url = reverse("referrals:create") + f"?household={household.pk}"
    response = login(client, field_worker_lebak).post(
        url, {"programme": programme.pk, "need": "food"}
    )
    assert response.status_code == 200
    assert "invalid-feedback" in response.text
    assert not Referral.objects.exists()


# --- accept, deliver, complete ----------------------------------------------------------------


def test_accept_deliver_complete_through_the_pages(client, referral, opd_officer):
    login(client, opd_officer)
    response = client.post(reverse("referrals:accept", args=[referral.pk]))
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.status == "accepted"
    page = client.get(detail_url(referral)).text
    assert 'enctype="multipart/form-data"' in page
    assert reverse("referrals:complete", args=[referral.pk]) not in page  # no delivery yet

    response = client.post(
        reverse("referrals:deliver", args=[referral.pk]),
        {
            "delivered_on": today().isoformat(),
            "quantity": "1",
            "value": "150000",
            "note": "Diterima",
            "evidence": SimpleUploadedFile("foto.png", PNG, content_type="image/png"),
        },
    )
    assert response.status_code == 302
    delivery = Delivery.objects.get()
    assert (delivery.value, delivery.logged_by) == (150_000, opd_officer)
    page = client.get(detail_url(referral)).text
    evidence = reverse("referrals:evidence", args=[delivery.pk])
    assert evidence in page
    response = client.get(evidence)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PNG
    assert reverse("referrals:complete", args=[referral.pk]) in page

    response = client.post(reverse("referrals:complete", args=[referral.pk]))
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.status == "completed"
    page = client.get(detail_url(referral)).text
    assert reverse("referrals:deliver", args=[referral.pk]) not in page


def test_reject_needs_a_reason(client, referral, opd_officer):
    login(client, opd_officer)
    response = client.post(reverse("referrals:reject", args=[referral.pk]), {"reject-reason": ""})
    assert response.status_code == 200
    assert 'id="id_reject-reason_error"' in response.text
    referral.refresh_from_db()
    assert referral.status == "referred"
    response = client.post(
        reverse("referrals:reject", args=[referral.pk]), {"reject-reason": "Sudah menerima"}
    )
    assert response.status_code == 302
    referral.refresh_from_db()
    assert (referral.status, referral.rejection_reason) == ("rejected", "Sudah menerima")


def test_an_action_the_state_no_longer_allows_is_refused_on_top_of_the_page(
    client, referral, opd_officer
):
    login(client, opd_officer)
    assert client.post(reverse("referrals:accept", args=[referral.pk])).status_code == 302
    decided = Referral.objects.values_list("status", "decided_at").get(pk=referral.pk)
    # A second accept (another tab, a double click): the page no longer offers it.
    response = client.post(reverse("referrals:accept", args=[referral.pk]))
    assert response.status_code == 409
    assert response.context["referral"].status == "accepted"  # the page shows the row as it is
    assert [str(e) for e in response.context["hidden_errors"]] == [
        "Only a referral waiting for the agency can be accepted."
    ]
    assert "Only a referral waiting for the agency can be accepted." in response.text
    assert Referral.objects.values_list("status", "decided_at").get(pk=referral.pk) == decided


def test_cancel_with_a_reason(client, referral, field_worker_lebak):
    response = login(client, field_worker_lebak).post(
        reverse("referrals:cancel", args=[referral.pk]), {"cancel-reason": "Pindah"}
    )
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.status == "cancelled"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"delivered_on": (date.today() + timedelta(days=3)).isoformat()}, "delivered_on"),
        ({"value": "-5"}, "value"),
        ({"value": "1500.50"}, "value"),
        ({"quantity": "0"}, "quantity"),
        (
            {"evidence": SimpleUploadedFile("foto.jpg", b"not an image", "image/jpeg")},
            "evidence",
        ),
    ],
)
def test_delivery_form_refuses_bad_input(client, referral, opd_officer, overrides, field):
    accepted(referral, opd_officer)
    data = {"delivered_on": today().isoformat(), "quantity": "1", "value": "150000"}
    data.update(overrides)
    if "evidence" in overrides:
        overrides["evidence"].seek(0)
    response = login(client, opd_officer).post(
        reverse("referrals:deliver", args=[referral.pk]), data
    )
    assert response.status_code == 200
    assert f'id="id_{field}_error"' in response.text
    assert not Delivery.objects.exists()


def test_delivery_on_a_rejected_referral_is_refused(client, referral, opd_officer):
    services.referral_reject(actor=opd_officer, referral=referral, reason="Tidak memenuhi")
    response = login(client, opd_officer).post(
        reverse("referrals:deliver", args=[referral.pk]),
        {"delivered_on": today().isoformat(), "quantity": "1", "value": "1"},
    )
    assert response.status_code == 200  # a form error, not a conflict
    assert 'role="alert"' in response.text
    assert "rejected" in response.text
    assert not Delivery.objects.exists()


# --- inbox ------------------------------------------------------------------------------------


def test_inbox_delivery_form_with_htmx(client, referral, opd_officer):
    accepted(referral, opd_officer)
    login(client, opd_officer)
    page = client.get(reverse("referrals:inbox")).text
    prefix = f"r{referral.pk}"
    assert f'name="{prefix}-value"' in page
    url = reverse("referrals:deliver", args=[referral.pk])
    bad = {
        "from": "inbox",
        f"{prefix}-delivered_on": today().isoformat(),
        f"{prefix}-quantity": "1",
        f"{prefix}-value": "-1",
    }
    response = client.post(url, bad, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert f'id="inbox-row-{referral.pk}"' in response.text
    assert f'id="id_{prefix}-value_error"' in response.text
    assert not Delivery.objects.exists()
    response = client.post(url, {**bad, f"{prefix}-value": "150000"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "<html" not in response.text
    assert Delivery.objects.count() == 1


def test_inbox_lists_overdue_first(client, province_admin, opd_officer, desa_lebak, programme):
    late = services.referral_create(
        actor=province_admin,
        household=make_household(desa_lebak, per_person=300_000),
        programme=programme,
        need="health",
        due_on=today() + timedelta(days=1),
    )
    Referral.objects.filter(pk=late.pk).update(due_on=today() - timedelta(days=2))
    soon = services.referral_create(
        actor=province_admin,
        household=make_household(desa_lebak, per_person=300_000),
        programme=programme,
        need="health",
    )
    page = login(client, opd_officer).get(reverse("referrals:inbox")).text
    assert page.index(f'id="inbox-row-{late.pk}"') < page.index(f'id="inbox-row-{soon.pk}"')
    assert "overdue" in page


# --- gap finder -------------------------------------------------------------------------------


def test_gap_finder_refers_selected_households(client, province_admin, desa_lebak):
    from interventions.services import household_recalculate

    food = make_programme(province_admin, code="PANGAN", owner="DKP Banten", needs=("food",))
    hungry = [make_household(desa_lebak, per_person=300_000, meals_per_day=1) for _ in range(2)]
    for household in hungry:
        household_recalculate(household_id=household.pk)
    login(client, province_admin)
    response = client.get(reverse("referrals:gaps"), {"need": "food"})
    assert response.status_code == 200
    for household in hungry:
        assert f'name="households" value="{household.pk}"' in response.text
    assert "PANGAN" in response.text
    response = client.post(
        reverse("referrals:gaps_refer") + "?need=food",
        {"need": "food", "programme": food.pk, "households": [h.pk for h in hungry]},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("referrals:gaps") + "?need=food"
    assert set(Referral.objects.values_list("household_id", flat=True)) == {h.pk for h in hungry}
    response = client.get(reverse("referrals:gaps"), {"need": "food"})
    for household in hungry:
        assert f'name="households" value="{household.pk}"' not in response.text


def test_gap_refer_refuses_without_households(client, province_admin, programme):
    response = login(client, province_admin).post(
        reverse("referrals:gaps_refer"), {"need": "health", "programme": programme.pk}
    )
    assert response.status_code == 200
    assert not Referral.objects.exists()


# --- constant queries -------------------------------------------------------------------------


def _referrals(actor, desa, programme, count):
    for _ in range(count):
        referral = services.referral_create(
            actor=actor,
            household=make_household(desa, per_person=300_000),
            programme=programme,
            need="health",
        )
        yield referral


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("page", ["referrals:list", "referrals:inbox"])
def test_constant_queries(client, province_admin, opd_officer, desa_lebak, programme, page):
    login(client, opd_officer)
    url = reverse(page)
    made = list(_referrals(province_admin, desa_lebak, programme, 3))
    accepted(made[0], opd_officer)
    three = _queries(client, url)
    more = list(_referrals(province_admin, desa_lebak, programme, 9))
    accepted(more[0], opd_officer)
    assert _queries(client, url) == three


def test_evidence_is_read_through_the_scope(client, referral, opd_officer, other_officer):
    accepted(referral, opd_officer)
    delivery = services.delivery_log(
        actor=opd_officer,
        referral=referral,
        delivered_on=today(),
        quantity=1,
        value=1,
        evidence=SimpleUploadedFile("foto.png", PNG, content_type="image/png"),
    )
    url = reverse("referrals:evidence", args=[delivery.pk])
    assert login(client, other_officer).get(url).status_code == 404
    response = login(client, opd_officer).get(url)
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"


def test_create_form_offers_programmes_for_unmet_needs(
    client, province_admin, field_worker_lebak, desa_lebak, programme
):
    from interventions.services import household_recalculate

    food = make_programme(province_admin, code="PANGAN", owner="DKP Banten", needs=("food",))
    hungry = make_household(desa_lebak, per_person=300_000, meals_per_day=1)
    household_recalculate(household_id=hungry.pk)
    url = reverse("referrals:create") + f"?household={hungry.pk}"
    page = login(client, field_worker_lebak).get(url).text
    assert f'<option value="{food.pk}">PANGAN' in page
    assert f"{programme.code} ·" not in page  # health is met


def test_create_form_leaves_out_programmes_the_household_cannot_join(
    client, province_admin, field_worker_lebak, household, desa_pandeglang
):
    owners = make_programme(
        province_admin,
        code="RTLH",
        owner="DPRKP Banten",
        needs=("health",),
        eligibility=[{"field": "ownership", "op": "==", "value": "own"}],
    )
    elsewhere = make_programme(province_admin, code="JAUH")
    elsewhere.target_regions.add(desa_pandeglang.parent)
    make_programme(province_admin, code="SEMUA")
    household.ownership = "rent"
    household.save()
    url = reverse("referrals:create") + f"?household={household.pk}"
    form = login(client, field_worker_lebak).get(url).context["form"]
    offered = set(form.fields["programme"].queryset.values_list("code", flat=True))
    assert "SEMUA" in offered
    assert offered.isdisjoint({owners.code, elsewhere.code})


def test_list_filters_and_htmx_partial(client, referral, opd_officer):
    login(client, opd_officer)
    response = client.get(reverse("referrals:list"), {"status": "accepted"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "<html" not in response.text
    assert detail_url(referral) not in response.text
    response = client.get(reverse("referrals:list"), {"status": "referred"})
    assert detail_url(referral) in response.text


def test_household_panel_links_to_the_referral_form(client, household, field_worker_lebak, auditor):
    url = reverse("interventions:household_panel", args=[household.pk])
    create = reverse("referrals:create") + f"?household={household.pk}"
    assert create in login(client, field_worker_lebak).get(url).text
    assert create not in login(client, auditor).get(url).text


def test_navbar_links(client, opd_officer, province_admin):
    page = login(client, opd_officer).get(reverse("referrals:list")).text
    assert reverse("referrals:inbox") in page
    page = login(client, province_admin).get(reverse("referrals:list")).text
    assert f'href="{reverse("referrals:inbox")}"' not in page


def test_date_inputs_carry_iso_dates(client, referral, opd_officer):
    accepted(referral, opd_officer)
    page = login(client, opd_officer).get(reverse("referrals:inbox")).text
    assert f'value="{today().isoformat()}"' in page
