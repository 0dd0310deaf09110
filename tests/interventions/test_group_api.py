"""API of tier 3: groups, KUR applications, repayments, graduations and follow-ups."""

import pytest
from django.utils import translation

from interventions import kur
from interventions.models import (
    BusinessGroup,
    FollowUp,
    Graduation,
    GroupMembership,
    KurApplication,
    KurStatusChange,
    Repayment,
)
from opd.models import Role
from tests.conftest import make_user

from .tier3 import (  # noqa: F401
    bank,
    clock,
    disbursed_loan,
    make_group,
    scheme,
    tier2_person,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(api):
    api.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def group(desa_lebak, field_worker_lebak):
    return make_group(field_worker_lebak, desa_lebak)


def test_field_worker_forms_a_group_and_adds_members(api, field_worker_lebak, desa_lebak):
    api.force_authenticate(field_worker_lebak)
    response = api.post(
        "/api/v1/groups/",
        {
            "name": "KUBE Maju",
            "kind": "kube",
            "sector": "Kerajinan bambu",
            "desa": desa_lebak.code,
            "founded_on": "2026-01-15",
            "facilitator": field_worker_lebak.username,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    group_id = response.json()["id"]
    assert response.json()["status"] == "forming"
    person = tier2_person(desa_lebak)
    added = api.post(
        f"/api/v1/groups/{group_id}/members/", {"member": person.pk, "role": "chair"}, format="json"
    )
    assert added.status_code == 200
    assert added.json()["members"][0]["name"] == person.name
    refused = api.post(f"/api/v1/groups/{group_id}/status/", {"to_status": "active"}, format="json")
    assert refused.status_code == 400
    assert "at least 5" in refused.json()["to_status"][0]


def test_a_person_in_another_group_is_400_and_nothing_written(api, field_worker_lebak, group):
    api.force_authenticate(field_worker_lebak)
    other = api.post(
        "/api/v1/groups/",
        {"name": "Lain", "kind": "umkm", "sector": "Warung", "desa": group.desa.code,
         "founded_on": "2026-02-01"},
        format="json",
    )  # fmt: skip
    person = group.memberships.first().member
    before = GroupMembership.objects.count()
    response = api.post(
        f"/api/v1/groups/{other.json()['id']}/members/", {"member": person.pk}, format="json"
    )
    assert response.status_code == 400
    assert "already a member of the group" in response.json()["member"][0]
    assert GroupMembership.objects.count() == before


def test_kur_over_the_ceiling_is_400(api, field_worker_lebak, group):
    api.force_authenticate(field_worker_lebak)
    response = api.post(
        "/api/v1/kur-applications/",
        {"group": group.pk, "scheme": "super-mikro", "bank": "BRI", "amount": 12_000_000,
         "tenor_months": 12, "purpose": "Modal"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["amount"] == [
        "Rp 12.000.000 is above the ceiling of KUR Super Mikro (Rp 10.000.000)."
    ]
    assert not KurApplication.objects.exists()


def test_repayment_before_disbursement_is_400(api, field_worker_lebak, group):
    application = kur.kur_application_create(
        actor=field_worker_lebak, group=group, scheme=scheme(), bank=bank(), amount=1_000_000,
        tenor_months=4, purpose="Modal",
    )  # fmt: skip
    api.force_authenticate(field_worker_lebak)
    response = api.post(
        "/api/v1/repayments/",
        {"application": application.pk, "paid_on": "2026-12-01", "amount": 250_000},
        format="json",
    )
    assert response.status_code == 400
    assert "disbursed loan" in response.json()["application"][0]
    assert not Repayment.objects.exists()


def test_bank_officer_moves_and_sees_only_their_bank(api, field_worker_lebak, group, desa_lebak):
    application, officer = disbursed_loan(group, field_worker_lebak)
    other_group = make_group(field_worker_lebak, desa_lebak, name="UMKM Dua")
    other, _ = disbursed_loan(other_group, field_worker_lebak, bank_name="BNI")
    api.force_authenticate(officer)
    listed = api.get("/api/v1/kur-applications/").json()["results"]
    assert [row["id"] for row in listed] == [application.pk]
    assert api.get(f"/api/v1/kur-applications/{other.pk}/").status_code == 404
    assert (
        api.post(
            f"/api/v1/kur-applications/{other.pk}/move/", {"to_status": "defaulted"}, format="json"
        ).status_code
        == 404
    )
    detail = api.get(f"/api/v1/kur-applications/{application.pk}/").json()
    assert len(detail["instalments"]) == 6
    assert [m["to_status"] for m in detail["moves"]] == [
        "prepared", "submitted", "approved", "disbursed",
    ]  # fmt: skip
    assert api.get(f"/api/v1/groups/{other_group.pk}/").status_code == 404
    assert api.get(f"/api/v1/groups/{group.pk}/").json()["members"][0]["name"] is None
    assert api.get("/api/v1/follow-ups/").json()["results"] == []
    first = detail["instalments"][0]
    paid = api.post(
        "/api/v1/repayments/",
        {"application": application.pk, "paid_on": detail["disbursed_on"],
         "amount": first["amount"]},
        format="json",
    )  # fmt: skip
    assert paid.status_code == 201, paid.json()
    assert api.get(f"/api/v1/kur-applications/{application.pk}/").json()["status"] == "repaying"


@pytest.mark.parametrize("fixture", ["district_pandeglang", "opd_officer"])
def test_other_area_or_role_gets_404(api, request, field_worker_lebak, group, fixture):
    application, _officer = disbursed_loan(group, field_worker_lebak)
    api.force_authenticate(request.getfixturevalue(fixture))
    assert api.get(f"/api/v1/groups/{group.pk}/").status_code == 404
    assert api.get(f"/api/v1/kur-applications/{application.pk}/").status_code == 404
    assert api.get("/api/v1/groups/").json()["results"] == []
    assert api.post(
        f"/api/v1/groups/{group.pk}/status/", {"to_status": "dormant", "reason": "x"},
        format="json",
    ).status_code == 404  # fmt: skip


def test_csr_partner_is_refused(api, csr_partner, group):
    api.force_authenticate(csr_partner)
    for url in ("groups", "kur-applications", "repayments", "graduations", "follow-ups"):
        assert api.get(f"/api/v1/{url}/").status_code == 403


def test_dissolving_raises_follow_ups_that_are_resolved_with_a_note(api, field_worker_lebak, group):
    api.force_authenticate(field_worker_lebak)
    response = api.post(
        f"/api/v1/groups/{group.pk}/status/",
        {"to_status": "dissolved", "reason": "Anggota pindah"},
        format="json",
    )
    assert response.status_code == 200
    assert BusinessGroup.objects.get(pk=group.pk).status == "dissolved"
    assert not GroupMembership.objects.filter(group=group, is_open=True).exists()
    rows = api.get("/api/v1/follow-ups/?open=true&kind=group_dissolved").json()["results"]
    assert len(rows) == 5
    empty = api.post(f"/api/v1/follow-ups/{rows[0]['id']}/resolve/", {}, format="json")
    assert empty.status_code == 400
    assert "note" in empty.json()
    done = api.post(
        f"/api/v1/follow-ups/{rows[0]['id']}/resolve/", {"note": "Visited"}, format="json"
    )
    assert done.status_code == 200
    assert done.json()["resolution"] == "Visited"
    assert FollowUp.objects.filter(resolved_at__isnull=True).count() == 4


def test_lists_use_a_constant_number_of_queries(
    api, field_worker_lebak, desa_lebak, group, django_assert_max_num_queries
):
    disbursed_loan(group, field_worker_lebak)
    second = make_group(field_worker_lebak, desa_lebak, name="KUBE Dua")
    application, officer = disbursed_loan(second, field_worker_lebak)
    kur.repayment_record(
        actor=officer, application=application, paid_on=application.disbursed_on, amount=1_000
    )
    household = group.memberships.first().member.household
    Graduation.objects.create(
        household=household, graduated_on="2026-01-01", monitoring_until="2027-01-01"
    )
    FollowUp.objects.create(household=household, kind="arrears", raised_at="2026-01-01T00:00Z")
    api.force_authenticate(field_worker_lebak)
    for url in ("groups", "kur-applications", "repayments", "graduations", "follow-ups"):
        with django_assert_max_num_queries(6):
            response = api.get(f"/api/v1/{url}/")
        assert response.status_code == 200
        assert response.json()["count"] >= 1, url


def test_a_field_worker_of_another_area_cannot_facilitate(
    api, field_worker_lebak, desa_lebak, desa_pandeglang, opd_officer, group
):
    elsewhere = make_user(
        "pendamping_pdg", Role.FIELD_WORKER, "Dinsos Banten", desa_pandeglang.code
    )
    api.force_authenticate(field_worker_lebak)
    body = {"name": "KUBE Jauh", "kind": "kube", "sector": "Warung", "desa": desa_lebak.code,
            "founded_on": "2026-01-15", "facilitator": elsewhere.username}  # fmt: skip
    before = BusinessGroup.objects.count()
    response = api.post("/api/v1/groups/", body, format="json")
    assert response.status_code == 400
    assert "outside the group's village" in response.json()["facilitator"][0]
    assert BusinessGroup.objects.count() == before
    moved = api.patch(
        f"/api/v1/groups/{group.pk}/", {"facilitator": elsewhere.username}, format="json"
    )
    assert moved.status_code == 400
    assert "facilitator" in moved.json()
    assert api.get(f"/api/v1/groups/{group.pk}/").json()["facilitator"] != elsewhere.username
    body["facilitator"] = opd_officer.username  # an agency's officer has no area
    assert api.post("/api/v1/groups/", body, format="json").status_code == 201


@pytest.mark.parametrize(
    ("founded_on", "message"),
    [("1900-01-01", "before 1950-01-01"), ("2999-01-01", "in the future")],
)
def test_an_implausible_founding_date_is_a_field_error(
    api, field_worker_lebak, desa_lebak, founded_on, message
):
    api.force_authenticate(field_worker_lebak)
    response = api.post(
        "/api/v1/groups/",
        {"name": "KUBE Lama", "kind": "kube", "sector": "Tani", "desa": desa_lebak.code,
         "founded_on": founded_on},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert message in " ".join(response.json()["founded_on"])
    assert not BusinessGroup.objects.filter(name="KUBE Lama").exists()


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({}, {"to_status": ["This field is required."]}),
        (
            {"to_status": "in_arrears"},
            {
                "note": ["Give a reason."],
                "to_status": ["The loan cannot be in arrears: nothing due by today is unpaid."],
            },
        ),
        (
            {"to_status": "in_arrears", "note": "Late"},
            {"to_status": ["The loan cannot be in arrears: nothing due by today is unpaid."]},
        ),
    ],
)
def test_a_refused_kur_move_is_400_with_the_field_and_nothing_written(
    api, field_worker_lebak, group, data, errors
):
    application, officer = disbursed_loan(group, field_worker_lebak)
    before = KurStatusChange.objects.count()
    api.force_authenticate(officer)
    response = api.post(f"/api/v1/kur-applications/{application.pk}/move/", data, format="json")
    assert response.status_code == 400
    assert response.json() == errors
    assert KurStatusChange.objects.count() == before
    application.refresh_from_db()
    assert application.status == "disbursed"


def test_a_loan_behind_its_schedule_moves_into_arrears_with_a_note(
    api,
    field_worker_lebak,
    group,
    clock,  # noqa: F811
):
    application, officer = disbursed_loan(group, field_worker_lebak)
    clock.at(40)  # the first instalment is due and unpaid
    api.force_authenticate(officer)
    url = f"/api/v1/kur-applications/{application.pk}/move/"
    refused = api.post(url, {"to_status": "in_arrears"}, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"note": ["Give a reason."]}
    moved = api.post(url, {"to_status": "in_arrears", "note": "Late"}, format="json")
    assert moved.status_code == 200, moved.json()
    assert moved.json()["status"] == "in_arrears"
    assert moved.json()["moves"][-1]["note"] == "Late"
