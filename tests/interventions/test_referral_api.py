"""The referral and delivery API: scope per role, every bad input, state conflicts, lean lists."""

import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from interventions.models import Delivery, Programme, Referral, ReferralStatus, Strategy
from interventions.programmes import programme_create, programme_period_create
from interventions.referrals import (
    delivery_log,
    referral_accept,
    referral_create,
    referral_reject,
)
from opd.models import Organisation
from povertycase.limits import RUPIAH_MAX

from .conftest import make_household


@pytest.fixture(autouse=True)
def _english(settings):
    """These tests read the English source messages."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


pytestmark = pytest.mark.django_db

REFERRALS = "/api/v1/referrals/"
DELIVERIES = "/api/v1/deliveries/"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x03\x00\x08\xfc\x02\xfe\xa7\x9a\xa0"
    b"\xa0\x00\x00\x00\x00IEND\xaeB`\x82"
)


def _upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def today():
    return timezone.localdate()


def as_user(api, user):
    api.force_login(user)
    return api


def make_programme(actor, code: str, owner: str, need: str, *, quota=None) -> Programme:
    programme = programme_create(
        actor=actor,
        code=code,
        name=f"Programme {code}",
        owner=Organisation.objects.get(short_name=owner),
        tier=1,
        needs=[need],
        funding_sources=["apbd_provinsi"],
        strategy=Strategy.REDUCE_BURDEN,
        unit="keluarga",
        unit_value=100_000,
        active_from=today() - timedelta(days=400),
    )
    programme_period_create(
        actor=actor,
        programme=programme,
        name="NOW",
        starts_on=today() - timedelta(days=30),
        ends_on=today() + timedelta(days=60),
        quota=quota,
        budget=None,
    )
    return programme


@pytest.fixture
def health(province_admin):
    """A Dinkes programme: the `opd_officer` fixture's agency."""
    return make_programme(province_admin, "T-HEALTH", "Dinkes Banten", "health")


@pytest.fixture
def food(province_admin):
    """A Dinsos programme: another agency."""
    return make_programme(province_admin, "T-FOOD", "Dinsos Banten", "food")


@pytest.fixture
def lebak_household(desa_lebak):
    return make_household(desa_lebak, per_person=300_000)


@pytest.fixture
def pandeglang_household(desa_pandeglang):
    return make_household(desa_pandeglang, per_person=300_000)


def head_of(household):
    return household.members.get(relationship="head")


@pytest.fixture
def lebak_referral(province_admin, lebak_household, health):
    """Lebak household -> Dinkes (the opd_officer's agency)."""
    return referral_create(
        actor=province_admin, household=lebak_household, programme=health, need="health"
    )


@pytest.fixture
def pandeglang_referral(province_admin, pandeglang_household, food):
    """Pandeglang household -> Dinsos (another agency)."""
    return referral_create(
        actor=province_admin, household=pandeglang_household, programme=food, need="food"
    )


@pytest.fixture
def accepted(lebak_referral, opd_officer):
    return referral_accept(actor=opd_officer, referral=lebak_referral)


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


# --- reads per role ---------------------------------------------------------------------------

LIST_MATRIX = [
    ("province_admin", {"lebak", "pandeglang"}),
    ("auditor", {"lebak", "pandeglang"}),
    ("district_lebak", {"lebak"}),
    ("field_worker_lebak", {"lebak"}),
    ("district_pandeglang", {"pandeglang"}),
    ("opd_officer", {"lebak"}),  # Dinkes: only the referrals to its own programmes
]


@pytest.mark.parametrize(("role", "expected"), LIST_MATRIX)
def test_list_and_detail_per_role(
    api, request, role, expected, lebak_referral, pandeglang_referral
):
    by_name = {"lebak": lebak_referral, "pandeglang": pandeglang_referral}
    as_user(api, request.getfixturevalue(role))
    assert ids(api.get(REFERRALS)) == {by_name[n].pk for n in expected}
    for name, referral in by_name.items():
        status = api.get(f"{REFERRALS}{referral.pk}/").status_code
        assert status == (200 if name in expected else 404), (role, name)


@pytest.mark.parametrize("role", ["csr_partner", "no_role_user"])
def test_roles_without_referrals_get_403(api, request, role, lebak_referral):
    as_user(api, request.getfixturevalue(role))
    assert api.get(REFERRALS).status_code == 403
    assert api.get(f"{REFERRALS}{lebak_referral.pk}/").status_code == 403
    assert api.get(DELIVERIES).status_code == 403


def test_anonymous_is_refused(api, lebak_referral):
    assert api.get(REFERRALS).status_code in (401, 403)
    assert api.post(DELIVERIES, {}, format="json").status_code in (401, 403)


def test_opd_officer_row_carries_the_household_it_needs(api, opd_officer, lebak_referral):
    household = lebak_referral.household
    row = as_user(api, opd_officer).get(REFERRALS).json()["results"][0]
    assert row["household"] == household.pk
    assert row["desa"] == household.desa.code
    assert row["head_name"] == head_of(household).name
    assert row["programme"] == "T-HEALTH"
    assert row["owner"] == "Dinkes Banten"
    assert row["status"] == ReferralStatus.REFERRED
    assert row["delivered_value"] == 0
    assert row["is_overdue"] is False
    body = str(row)
    assert head_of(household).nik not in body
    assert household.no_kk not in body
    assert "nik" not in row
    assert "no_kk" not in row


def test_opd_officer_gets_404_for_another_agencys_referral_and_its_actions(
    api, opd_officer, pandeglang_referral
):
    as_user(api, opd_officer)
    url = f"{REFERRALS}{pandeglang_referral.pk}/"
    assert api.get(url).status_code == 404
    for verb in ("accept", "reject", "complete", "cancel"):
        assert api.post(f"{url}{verb}/", {"reason": "x"}, format="json").status_code == 404
    pandeglang_referral.refresh_from_db()
    assert pandeglang_referral.status == ReferralStatus.REFERRED
    # and the household itself stays out of reach
    household = pandeglang_referral.household_id
    assert api.get(f"/api/v1/households/{household}/").status_code == 404


def test_opd_officer_reaches_only_households_referred_to_it(
    api, opd_officer, lebak_referral, pandeglang_household
):
    as_user(api, opd_officer)
    assert api.get(f"/api/v1/households/{pandeglang_household.pk}/").status_code == 404
    assert api.get(f"/api/v1/households/{lebak_referral.household_id}/").status_code == 200


def test_csr_partner_gets_no_personal_data_from_any_endpoint(
    api, csr_partner, province_admin, opd_officer, accepted, media
):
    delivery = delivery_log(
        actor=opd_officer,
        referral=accepted,
        delivered_on=today(),
        quantity=1,
        value=100_000,
        evidence=_upload("photo.png", PNG),
    )
    household = accepted.household
    head = head_of(household)
    as_user(api, csr_partner)
    ref = f"{REFERRALS}{accepted.pk}/"
    dl = f"{DELIVERIES}{delivery.pk}/"
    calls = [
        ("get", REFERRALS, None),
        ("get", ref, None),
        ("get", f"{REFERRALS}?household={household.pk}", None),
        ("post", REFERRALS, {"household": household.pk, "programme": "T-HEALTH"}),
        *[("post", f"{ref}{verb}/", {"reason": "x"}) for verb in ("accept", "reject")],
        *[("post", f"{ref}{verb}/", {"reason": "x"}) for verb in ("complete", "cancel")],
        ("get", DELIVERIES, None),
        ("get", dl, None),
        ("get", f"{dl}evidence/", None),
        ("post", DELIVERIES, {"referral": accepted.pk, "delivered_on": str(today())}),
    ]
    for method, url, body in calls:
        response = getattr(api, method)(url, body, format="json") if body else api.get(url)
        assert response.status_code == 403, (url, response.status_code)
        text = response.content.decode()
        for secret in (head.name, head.nik, household.no_kk, household.address):
            assert secret not in text, (url, secret)
    assert Delivery.objects.count() == 1
    assert Referral.objects.get().status == ReferralStatus.ACCEPTED


# --- create -----------------------------------------------------------------------------------


def test_field_worker_refers_a_household(api, field_worker_lebak, lebak_household, health):
    as_user(api, field_worker_lebak)
    response = api.post(
        REFERRALS,
        {"household": lebak_household.pk, "programme": "T-HEALTH", "need": "health", "note": "x"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    referral = Referral.objects.get()
    assert body["id"] == referral.pk
    assert body["status"] == ReferralStatus.REFERRED
    assert body["head_name"] == head_of(lebak_household).name
    assert body["deliveries"] == []
    assert referral.referred_by == field_worker_lebak
    assert referral.note == "x"
    assert referral.due_on == today() + timedelta(days=30)
    assert referral.planned_value == health.unit_value


def test_create_for_a_member_with_a_due_date(api, field_worker_lebak, lebak_household, health):
    member = head_of(lebak_household)
    due = today() + timedelta(days=10)
    body = {
        "household": lebak_household.pk,
        "programme": "T-HEALTH",
        "need": "health",
        "member": member.pk,
        "due_on": str(due),
    }
    response = as_user(api, field_worker_lebak).post(REFERRALS, body, format="json")
    assert response.status_code == 201, response.content
    referral = Referral.objects.get()
    assert (referral.member, referral.due_on) == (member, due)
    assert response.json()["member_name"] == member.name


def _create_cases(households):
    lebak, pandeglang, other_member = households
    good = {"household": lebak.pk, "programme": "T-HEALTH", "need": "health"}
    return [
        ({**good, "household": None}, "household"),
        ({k: v for k, v in good.items() if k != "household"}, "household"),
        ({**good, "household": pandeglang.pk}, "household"),  # outside the worker's area
        ({**good, "household": "abc"}, "household"),
        ({**good, "programme": "NOPE"}, "programme"),
        ({**good, "need": "spaceship"}, "need"),
        ({**good, "need": "food"}, "need"),  # not a need of this programme
        ({**good, "member": other_member.pk}, "member"),  # someone of another household
        ({**good, "due_on": "31-12-2026"}, "due_on"),
        ({**good, "planned_value": -5}, "planned_value"),
        ({**good, "planned_value": "1.000"}, "planned_value"),
        ({**good, "planned_value": 1.5}, "planned_value"),
    ]


@pytest.mark.parametrize("case", range(12))
def test_create_refuses_bad_input_with_400_and_writes_nothing(
    api, field_worker_lebak, lebak_household, pandeglang_household, health, food, case, desa_lebak
):
    neighbour = make_household(desa_lebak, per_person=300_000)
    body, field = _create_cases((lebak_household, pandeglang_household, head_of(neighbour)))[case]
    response = as_user(api, field_worker_lebak).post(REFERRALS, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not Referral.objects.exists()


def test_a_second_open_referral_is_refused(api, field_worker_lebak, lebak_referral):
    body = {"household": lebak_referral.household_id, "programme": "T-HEALTH", "need": "health"}
    response = as_user(api, field_worker_lebak).post(REFERRALS, body, format="json")
    assert response.status_code == 400, response.content
    assert "programme" in response.json()
    assert Referral.objects.count() == 1


@pytest.mark.parametrize("role", ["opd_officer", "auditor"])
def test_roles_that_do_not_refer_get_403(api, request, role, lebak_household, health):
    body = {"household": lebak_household.pk, "programme": "T-HEALTH", "need": "health"}
    as_user(api, request.getfixturevalue(role))
    response = api.post(REFERRALS, body, format="json")
    # the OPD officer does not see this household (nothing referred yet): 400 on "household"
    assert response.status_code in (400, 403), response.content
    assert not Referral.objects.exists()


# --- the lifecycle ----------------------------------------------------------------------------


def test_officer_accepts_logs_and_completes(api, opd_officer, lebak_referral, media):
    as_user(api, opd_officer)
    url = f"{REFERRALS}{lebak_referral.pk}/"
    response = api.post(f"{url}accept/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == ReferralStatus.ACCEPTED
    assert response.json()["decided_by"] == opd_officer.username

    response = api.post(
        DELIVERIES,
        {
            "referral": lebak_referral.pk,
            "delivered_on": str(today()),
            "quantity": 2,
            "value": 150_000,
            "note": "kartu",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["quantity"], body["value"], body["has_evidence"]) == (2, 150_000, False)
    assert body["evidence_url"] is None
    assert body["logged_by"] == opd_officer.username

    detail = api.get(url).json()
    assert detail["delivered_value"] == 150_000
    assert [d["id"] for d in detail["deliveries"]] == [body["id"]]

    response = api.post(f"{url}complete/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == ReferralStatus.COMPLETED
    lebak_referral.refresh_from_db()
    assert lebak_referral.closed_by == opd_officer


def test_reject_needs_a_reason(api, opd_officer, lebak_referral):
    as_user(api, opd_officer)
    url = f"{REFERRALS}{lebak_referral.pk}/reject/"
    response = api.post(url, {"reason": ""}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()
    lebak_referral.refresh_from_db()
    assert lebak_referral.status == ReferralStatus.REFERRED
    response = api.post(url, {"reason": "Sudah menerima dari APBN"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["rejection_reason"] == "Sudah menerima dari APBN"
    assert response.json()["status"] == ReferralStatus.REJECTED


def test_cancel_by_the_referrer_needs_a_reason(api, field_worker_lebak, lebak_referral):
    as_user(api, field_worker_lebak)
    url = f"{REFERRALS}{lebak_referral.pk}/cancel/"
    response = api.post(url, {}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()
    response = api.post(url, {"reason": "Pindah domisili"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == ReferralStatus.CANCELLED
    assert response.json()["cancel_reason"] == "Pindah domisili"


def test_state_conflicts_answer_409(api, opd_officer, accepted):
    as_user(api, opd_officer)
    url = f"{REFERRALS}{accepted.pk}/"
    assert api.post(f"{url}accept/").status_code == 409  # already accepted
    assert api.post(f"{url}reject/", {"reason": "late"}, format="json").status_code == 409
    accepted.refresh_from_db()
    assert accepted.status == ReferralStatus.ACCEPTED


def test_complete_without_a_delivery_is_refused(api, opd_officer, accepted):
    response = as_user(api, opd_officer).post(f"{REFERRALS}{accepted.pk}/complete/")
    assert response.status_code == 409, response.content
    assert "delivery" in response.json()["detail"]
    accepted.refresh_from_db()
    assert accepted.status == ReferralStatus.ACCEPTED


@pytest.mark.parametrize("role", ["field_worker_lebak", "auditor", "district_lebak"])
def test_only_the_owning_agency_accepts(api, request, role, lebak_referral):
    response = as_user(api, request.getfixturevalue(role)).post(
        f"{REFERRALS}{lebak_referral.pk}/accept/"
    )
    assert response.status_code == 403, response.content
    lebak_referral.refresh_from_db()
    assert lebak_referral.status == ReferralStatus.REFERRED


def test_over_quota_accept_is_409_and_changes_nothing(api, province_admin, opd_officer, desa_lebak):
    programme = make_programme(province_admin, "T-ONE", "Dinkes Banten", "health", quota=1)
    first, second = (
        referral_create(
            actor=province_admin,
            household=make_household(desa_lebak, per_person=300_000),
            programme=programme,
            need="health",
        )
        for _ in range(2)
    )
    as_user(api, opd_officer)
    assert api.post(f"{REFERRALS}{first.pk}/accept/").status_code == 200
    response = api.post(f"{REFERRALS}{second.pk}/accept/")
    assert response.status_code == 409, response.content
    assert response.json()["detail"]
    second.refresh_from_db()
    assert second.status == ReferralStatus.REFERRED


# --- deliveries -------------------------------------------------------------------------------


def test_delivery_with_evidence_over_multipart(api, opd_officer, accepted, media):
    as_user(api, opd_officer)
    response = api.post(
        DELIVERIES,
        {
            "referral": accepted.pk,
            "delivered_on": str(today()),
            "quantity": "1",
            "value": "100000",
            "evidence": _upload("photo.png", PNG),
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["has_evidence"] is True
    assert body["evidence_url"].endswith(f"/api/v1/deliveries/{body['id']}/evidence/")
    download = api.get(f"{DELIVERIES}{body['id']}/evidence/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PNG
    assert Delivery.objects.get().logged_by == opd_officer


def _delivery_cases():
    day = str(today())
    good = {"delivered_on": day, "quantity": 1, "value": 100_000}
    return [
        ({**good, "delivered_on": str(today() + timedelta(days=1))}, "delivered_on"),
        ({**good, "delivered_on": "kemarin"}, "delivered_on"),
        ({k: v for k, v in good.items() if k != "delivered_on"}, "delivered_on"),
        ({**good, "value": -1}, "value"),
        ({**good, "value": 1.5}, "value"),
        ({**good, "value": "1.000"}, "value"),
        ({**good, "value": "Rp 100"}, "value"),
        ({**good, "value": True}, "value"),
        ({k: v for k, v in good.items() if k != "value"}, "value"),
        ({**good, "quantity": 0}, "quantity"),
        ({**good, "quantity": 1.5}, "quantity"),
        ({**good, "quantity": -2}, "quantity"),
        ({**good, "evidence": "photo.png"}, "evidence"),
        ({**good, "referral": 0}, "referral"),
        ({**good, "referral": None}, "referral"),
    ]


@pytest.mark.parametrize("case", range(15))
def test_delivery_refuses_bad_json_with_400_and_writes_nothing(api, opd_officer, accepted, case):
    body, field = _delivery_cases()[case]
    body = {"referral": accepted.pk, **body}
    response = as_user(api, opd_officer).post(DELIVERIES, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not Delivery.objects.exists()


def _multipart(referral, evidence, **extra):
    data = {
        "referral": referral.pk,
        "delivered_on": str(today()),
        "quantity": "1",
        "value": "100000",
        "evidence": evidence,
    }
    data.update(extra)
    return data


@pytest.mark.parametrize(
    "content",
    [
        b"just text pretending to be a photo",
        b"MZ\x90\x00\x03\x00\x00\x00",  # an executable named .png
        b"<svg xmlns='http://www.w3.org/2000/svg'></svg>",
    ],
)
def test_evidence_that_is_not_an_image_or_pdf_is_refused(
    api, opd_officer, accepted, media, content
):
    response = as_user(api, opd_officer).post(
        DELIVERIES, _multipart(accepted, _upload("photo.png", content)), format="multipart"
    )
    assert response.status_code == 400, response.content
    assert "evidence" in response.json()
    assert not Delivery.objects.exists()
    assert not any(media.rglob("*.*"))


def test_evidence_over_the_size_limit_is_refused(api, opd_officer, accepted, media, settings):
    settings.EVIDENCE_MAX_BYTES = 1024
    big = PNG + b"\x00" * 2048
    response = as_user(api, opd_officer).post(
        DELIVERIES, _multipart(accepted, _upload("big.png", big)), format="multipart"
    )
    assert response.status_code == 400, response.content
    assert "evidence" in response.json()
    assert not Delivery.objects.exists()


def test_a_pdf_is_accepted_as_evidence(api, opd_officer, accepted, media):
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    response = as_user(api, opd_officer).post(
        DELIVERIES, _multipart(accepted, _upload("berita-acara.pdf", pdf)), format="multipart"
    )
    assert response.status_code == 201, response.content


def test_multipart_bad_numbers_are_400(api, opd_officer, accepted, media):
    as_user(api, opd_officer)
    for field, value in (("value", "1.000"), ("value", "1.5"), ("quantity", "1.5")):
        data = _multipart(accepted, _upload("p.png", PNG), **{field: value})
        response = api.post(DELIVERIES, data, format="multipart")
        assert response.status_code == 400, (field, value)
        assert field in response.json(), (field, value)
    assert not Delivery.objects.exists()


def test_delivery_on_a_rejected_referral_is_refused(api, opd_officer, lebak_referral):
    referral_reject(actor=opd_officer, referral=lebak_referral, reason="Tidak memenuhi syarat")
    body = {
        "referral": lebak_referral.pk,
        "delivered_on": str(today()),
        "quantity": 1,
        "value": 100_000,
    }
    response = as_user(api, opd_officer).post(DELIVERIES, body, format="json")
    # A closed referral can never take a delivery: a field error of "referral", not a conflict.
    assert response.status_code == 400, response.content
    assert "accepted referral" in response.json()["referral"][0]
    assert "rejected" in response.json()["referral"][0]
    assert not Delivery.objects.exists()


def test_delivery_on_another_agencys_referral_is_400_without_saying_it_exists(
    api, opd_officer, province_admin, pandeglang_referral
):
    referral_accept(actor=province_admin, referral=pandeglang_referral)
    body = {
        "referral": pandeglang_referral.pk,
        "delivered_on": str(today()),
        "quantity": 1,
        "value": 1,
    }
    response = as_user(api, opd_officer).post(DELIVERIES, body, format="json")
    missing = as_user(api, opd_officer).post(DELIVERIES, {**body, "referral": 10**9}, format="json")
    assert response.status_code == missing.status_code == 400
    # the same words for "not yours" and "not there"
    hidden = response.json()["referral"][0].replace(str(pandeglang_referral.pk), "ID")
    assert hidden == missing.json()["referral"][0].replace(str(10**9), "ID")
    assert not Delivery.objects.exists()


def test_only_the_owning_agency_logs_deliveries(api, field_worker_lebak, accepted):
    body = {"referral": accepted.pk, "delivered_on": str(today()), "quantity": 1, "value": 1}
    response = as_user(api, field_worker_lebak).post(DELIVERIES, body, format="json")
    assert response.status_code == 403, response.content
    assert not Delivery.objects.exists()


def test_deliveries_are_scoped_like_their_referrals(
    api, opd_officer, province_admin, accepted, pandeglang_referral, district_pandeglang
):
    mine = delivery_log(
        actor=opd_officer, referral=accepted, delivered_on=today(), quantity=1, value=1
    )
    referral_accept(actor=province_admin, referral=pandeglang_referral)
    theirs = delivery_log(
        actor=province_admin,
        referral=pandeglang_referral,
        delivered_on=today(),
        quantity=1,
        value=2,
    )
    as_user(api, opd_officer)
    assert ids(api.get(DELIVERIES)) == {mine.pk}
    assert api.get(f"{DELIVERIES}{theirs.pk}/").status_code == 404
    assert api.get(f"{DELIVERIES}{theirs.pk}/evidence/").status_code == 404
    assert ids(api.get(DELIVERIES, {"referral": accepted.pk})) == {mine.pk}
    as_user(api, district_pandeglang)
    assert ids(api.get(DELIVERIES)) == {theirs.pk}
    as_user(api, province_admin)
    assert ids(api.get(DELIVERIES, {"programme": "T-FOOD"})) == {theirs.pk}


# --- filters ----------------------------------------------------------------------------------


def test_filters(api, province_admin, opd_officer, lebak_referral, pandeglang_referral, accepted):
    Referral.objects.filter(pk=pandeglang_referral.pk).update(due_on=today() - timedelta(days=1))
    as_user(api, province_admin)

    def listed(**params):
        return ids(api.get(REFERRALS, params))

    assert listed(status="accepted") == {lebak_referral.pk}
    assert listed(status="referred") == {pandeglang_referral.pk}
    assert listed(programme="T-FOOD") == {pandeglang_referral.pk}
    assert listed(need="health") == {lebak_referral.pk}
    assert listed(household=lebak_referral.household_id) == {lebak_referral.pk}
    assert listed(overdue="true") == {pandeglang_referral.pk}
    assert listed(overdue="false") == {lebak_referral.pk}
    assert api.get(REFERRALS, {"status": "nonsense"}).status_code == 400


# --- lean lists -------------------------------------------------------------------------------


def _refer_many(actor, programme, desa, count: int, *, accept_as=None) -> None:
    for _ in range(count):
        referral = referral_create(
            actor=actor,
            household=make_household(desa, per_person=300_000),
            programme=programme,
            need="health",
        )
        if accept_as is not None:
            referral_accept(actor=accept_as, referral=referral)
            delivery_log(
                actor=accept_as, referral=referral, delivered_on=today(), quantity=1, value=5
            )


def _queries(api, url) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = api.get(url)
    assert response.status_code == 200
    return len(ctx), response.json()["count"]


@pytest.mark.parametrize("role", ["province_admin", "opd_officer", "field_worker_lebak"])
@pytest.mark.parametrize("url", [REFERRALS, DELIVERIES])
def test_lists_run_a_constant_number_of_queries(
    api, request, role, url, province_admin, opd_officer, health, desa_lebak
):
    _refer_many(province_admin, health, desa_lebak, 3, accept_as=opd_officer)
    as_user(api, request.getfixturevalue(role)).get(url)  # warm the session
    few, count = _queries(api, url)
    assert count == 3
    _refer_many(province_admin, health, desa_lebak, 9, accept_as=opd_officer)
    many, count = _queries(api, url)
    assert count == 12
    assert many == few


# --- ids and schema ---------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["abc", "1e3", "99999999999999999999999", "-1"])
def test_an_id_that_is_not_a_number_is_404(api, province_admin, bad):
    as_user(api, province_admin)
    assert api.get(f"{REFERRALS}{bad}/").status_code == 404
    assert api.post(f"{REFERRALS}{bad}/accept/").status_code == 404
    assert api.get(f"{DELIVERIES}{bad}/").status_code == 404


def test_schema_documents_referrals_and_deliveries(tmp_path):
    target = tmp_path / "schema.json"
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file",
        str(target),
    )  # fmt: skip
    schema = json.loads(target.read_text())
    paths = schema["paths"]
    for verb in ("accept", "reject", "complete", "cancel"):
        assert "post" in paths[f"/api/v1/referrals/{{id}}/{verb}/"]
    detail = paths["/api/v1/referrals/{id}/"]["get"]
    assert detail["parameters"][0]["schema"]["type"] == "integer"
    names = {p["name"] for p in paths["/api/v1/referrals/"]["get"]["parameters"]}
    assert {"status", "programme", "need", "household", "overdue"} <= names
    create = paths["/api/v1/deliveries/"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/json"} <= set(create)
    assert "409" in paths["/api/v1/referrals/{id}/accept/"]["post"]["responses"]
    components = schema["components"]["schemas"]
    assert "completed" in components["ReferralStatusEnum"]["enum"]
    assert "nik" not in components["ReferralDetail"]["properties"]


def test_rows_hide_the_household_from_a_role_without_personal_data(
    province_admin, lebak_referral, no_role_user
):
    # No role reaching referrals lacks personal data today; the serializer still guards it.
    from types import SimpleNamespace

    from interventions.referral_api import ReferralDetailSerializer
    from interventions.referral_selectors import referral_list
    from opd.access import Access

    no_role_user._povertycase_access = Access(user_id=no_role_user.pk)
    referral = referral_list(province_admin).get(pk=lebak_referral.pk)
    request = SimpleNamespace(user=no_role_user, build_absolute_uri=lambda path: path)
    data = ReferralDetailSerializer(referral, context={"request": request}).data
    for name in ("household", "desa", "desa_name", "head_name", "member", "member_name"):
        assert data[name] is None, name
    assert data["programme"] == "T-HEALTH"
    assert head_of(lebak_referral.household).name not in str(data)


# --- found by fuzzing the API (schemathesis and by hand) ------------------------------------------


def test_an_amount_the_database_could_not_sum_is_refused(api, opd_officer, lebak_referral):
    """Two deliveries of 2**63 - 1 each were stored, then every list holding the referral failed
    summing them; now an amount beyond RUPIAH_MAX is a field error and nothing is written."""
    referral_accept(actor=opd_officer, referral=lebak_referral)
    data = {
        "referral": lebak_referral.pk,
        "delivered_on": today().isoformat(),
        "quantity": 1,
        "value": RUPIAH_MAX + 1,
    }
    response = as_user(api, opd_officer).post(DELIVERIES, data, format="json")
    assert response.status_code == 400
    assert "value" in response.json()
    assert not Delivery.objects.exists()
    assert api.post(DELIVERIES, {**data, "value": RUPIAH_MAX}, format="json").status_code == 201
    assert api.get(REFERRALS).status_code == 200
    assert api.get(f"{REFERRALS}{lebak_referral.pk}/").status_code == 200


def test_a_referral_cannot_plan_beyond_the_rupiah_bound(
    api, province_admin, lebak_household, health
):
    data = {
        "household": lebak_household.pk,
        "programme": health.code,
        "need": "health",
        "planned_value": 2**63 - 1,
    }
    response = as_user(api, province_admin).post(REFERRALS, data, format="json")
    assert response.status_code == 400
    assert "planned_value" in response.json()
    assert not Referral.objects.exists()


@pytest.mark.parametrize(
    ("url", "param"),
    [
        ("/api/v1/visits/", "visited_at_after"),
        ("/api/v1/transitions/", "at_after"),
        ("/api/v1/assessments/", "assessed_at_after"),
        ("/api/v1/deliveries/", "delivered_on_before"),
        ("/api/v1/disbursements/", "disbursed_on_after"),
    ],
)
def test_a_date_filter_before_1900_is_a_field_error_not_a_500(api, province_admin, url, param):
    response = as_user(api, province_admin).get(url, {param: "0001-01-01"})
    assert response.status_code == 400
    field = param.rsplit("_", 1)[0]
    assert "Give dates from 1 Jan 1900 on." in str(response.json()[field])
    assert api.get(url, {param: "1900-01-01"}).status_code == 200


def test_the_visit_list_page_shows_a_date_filter_error(client, province_admin):
    client.force_login(province_admin)
    response = client.get("/visits/list/", {"visited_at_after": "0001-01-01"})
    assert response.status_code == 200
    assert "Give dates from 1 Jan 1900 on." in response.text


def test_a_case_id_beyond_a_bigint_is_not_found(api, province_admin):
    api = as_user(api, province_admin)
    assert api.get("/api/v1/cases/9223372036854775808/").status_code == 404
    assert api.get("/api/v1/cases/9223372036854775807/").status_code == 404
