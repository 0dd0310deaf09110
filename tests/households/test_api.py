"""The register's REST API: who sees and changes what, masking, logging, input errors, queries."""

import json
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from households.identity import mask, nik_for
from households.models import Household, KkChange, Member, PersonalDataAccess
from tests.factories import HouseholdFactory, MemberFactory

HOUSEHOLDS = reverse("household-list")
MEMBERS = reverse("member-list")
HEAD_BIRTH = date(1980, 3, 15)
HEAD_NIK = nik_for(district_code="360201", birth_date=HEAD_BIRTH, sex="M", serial=7)
CHILD_BIRTH = date(2012, 6, 1)
CHILD_NIK = nik_for(district_code="360201", birth_date=CHILD_BIRTH, sex="F", serial=8)
NEW_KK = "3602010101250042"
READERS = ["province_admin", "district_lebak", "field_worker_lebak", "auditor"]
NON_READERS = ["csr_partner", "opd_officer", "no_role_user"]
EDITORS = ["province_admin", "district_lebak", "field_worker_lebak"]
READ_ONLY = ["auditor", *NON_READERS]
ALL_ROLES = [*READERS, "district_pandeglang", *NON_READERS]


def household_url(pk) -> str:
    return reverse("household-detail", args=[pk])


def member_url(pk, action: str = "") -> str:
    if action:
        return reverse(f"member-{action}", args=[pk])
    return reverse("member-detail", args=[pk])


@pytest.fixture
def lebak_hh(desa_lebak):
    return HouseholdFactory(desa=desa_lebak, desil=1, monthly_expenditure=1_200_000)


@pytest.fixture
def pandeglang_hh(desa_pandeglang):
    return HouseholdFactory(desa=desa_pandeglang)


def as_user(api, request, fixture):
    user = request.getfixturevalue(fixture)
    api.force_authenticate(user)
    return user


def counts():
    return (
        Household.objects.count(),
        Member.objects.count(),
        KkChange.objects.count(),
        PersonalDataAccess.objects.count(),
    )


def registration(**changes):
    data = {
        "desa": "36.02.01.2002",
        "no_kk": NEW_KK,
        "registration_source": "field",
        "address": "Kampung Cibeber RT 01",
        "monthly_expenditure": 900_000,
        "monthly_income": 750_000,
        "water_source": "unprotected_well",
        "desil": 1,
        "members": [
            {
                "nik": HEAD_NIK,
                "name": "Ahmad Suryana",
                "relationship": "head",
                "sex": "M",
                "birth_date": HEAD_BIRTH.isoformat(),
            },
            {
                "nik": CHILD_NIK,
                "name": "Nur Aini",
                "relationship": "child",
                "sex": "F",
                "birth_date": CHILD_BIRTH.isoformat(),
                "school_enrolment": "enrolled",
            },
        ],
    }
    data.update(changes)
    return data


def with_member(index: int, **changes):
    data = registration()
    data["members"][index].update(changes)
    return data


def personal_strings(*households: Household) -> list[str]:
    """Everything that identifies a person: names, NIK and No. KK in clear and masked."""
    found = []
    for household in households:
        found += [household.no_kk, mask(household.no_kk), household.address]
        for member in Member.objects.filter(household=household):
            found += [member.name, member.nik, mask(member.nik)]
    return found


# --- authentication ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_needs_a_signed_in_user(api, lebak_hh):
    for url in (HOUSEHOLDS, household_url(lebak_hh.pk), MEMBERS):
        assert api.get(url).status_code in (401, 403)
    assert api.post(HOUSEHOLDS, registration(), format="json").status_code in (401, 403)


@pytest.mark.django_db
def test_token_authentication(api, province_admin, lebak_hh):
    token = Token.objects.create(user=province_admin)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = api.get(HOUSEHOLDS)
    assert response.status_code == 200
    assert response.json()["count"] == 1
    assert api.get(household_url(lebak_hh.pk)).status_code == 200
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api.get(HOUSEHOLDS)
    assert response.status_code in (401, 403)  # 403: session auth comes first in the settings
    assert "count" not in response.json()


@pytest.mark.django_db
def test_token_user_can_register(api, field_worker_lebak):
    token = Token.objects.create(user=field_worker_lebak)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = api.post(HOUSEHOLDS, registration(), format="json")
    assert response.status_code == 201, response.json()
    assert Household.objects.get().created_by == field_worker_lebak


# --- list -------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fixture", "sees_lebak", "sees_pandeglang"),
    [
        ("province_admin", True, True),
        ("auditor", True, True),
        ("district_lebak", True, False),
        ("district_pandeglang", False, True),
        ("field_worker_lebak", True, False),
        ("opd_officer", False, False),
        ("csr_partner", False, False),
        ("no_role_user", False, False),
    ],
)
def test_list_per_role(fixture, sees_lebak, sees_pandeglang, api, request, lebak_hh, pandeglang_hh):
    as_user(api, request, fixture)
    response = api.get(HOUSEHOLDS)
    assert response.status_code == 200
    body = response.json()
    ids = {row["id"] for row in body["results"]}
    assert (lebak_hh.pk in ids, pandeglang_hh.pk in ids) == (sees_lebak, sees_pandeglang)
    assert body["count"] == len(ids)


@pytest.mark.django_db
def test_list_row_is_lean_and_masked(api, province_admin, lebak_hh):
    api.force_authenticate(province_admin)
    MemberFactory(household=lebak_hh)
    head = lebak_hh.members.get(relationship="head")
    response = api.get(HOUSEHOLDS)
    row = response.json()["results"][0]
    desa = lebak_hh.desa
    assert row == {
        "id": lebak_hh.pk,
        "no_kk": mask(lebak_hh.no_kk),
        "desa": desa.code,
        "desa_name": desa.name,
        "kecamatan": desa.parent.code,
        "kecamatan_name": desa.parent.name,
        "kabupaten": desa.parent.parent.code,
        "kabupaten_name": desa.parent.parent.name,
        "head_name": head.name,
        "member_count": 2,
        "desil": 1,
        "status": "active",
        "monthly_expenditure": 1_200_000,
        "updated_at": row["updated_at"],
    }
    assert lebak_hh.no_kk not in response.content.decode()
    assert head.nik not in response.content.decode()
    assert not PersonalDataAccess.objects.exists()


@pytest.mark.django_db
def test_list_filters_search_and_ordering(api, province_admin, lebak_hh, pandeglang_hh):
    api.force_authenticate(province_admin)
    head = lebak_hh.members.get()

    def found(**params):
        response = api.get(HOUSEHOLDS, params)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert found(q=head.name) == [lebak_hh.pk]
    assert found(q=head.nik) == [lebak_hh.pk]
    assert found(q=lebak_hh.no_kk[:10]) == [lebak_hh.pk]
    assert found(desa=lebak_hh.desa.code) == [lebak_hh.pk]
    assert found(kecamatan="36.02.01") == [lebak_hh.pk]
    assert found(kabupaten="36.01") == [pandeglang_hh.pk]
    assert found(desil=1) == [lebak_hh.pk]
    assert found(desil_max=2) == [lebak_hh.pk]
    assert found(status="moved") == []
    assert found(ordering="id") == [lebak_hh.pk, pandeglang_hh.pk]
    assert found(ordering="-id") == [pandeglang_hh.pk, lebak_hh.pk]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("param", "value"), [("kabupaten", "99.99"), ("desil", "abc"), ("status", "foo")]
)
def test_bad_filter_values_are_400_naming_the_filter(param, value, api, province_admin):
    api.force_authenticate(province_admin)
    response = api.get(HOUSEHOLDS, {param: value})
    assert response.status_code == 400
    assert param in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["9" * 25, "1.5", "abc", "-3"])
def test_bad_member_household_filter_is_400_never_a_500(value, api, province_admin):
    api.force_authenticate(province_admin)
    response = api.get(MEMBERS, {"household": value})
    assert response.status_code == 400
    assert "household" in response.json()


@pytest.mark.django_db
def test_huge_ids_are_404_or_400_never_a_500(api, province_admin):
    api.force_authenticate(province_admin)
    big = "9" * 25
    assert api.get(household_url(big)).status_code == 404
    assert api.get(member_url(big)).status_code == 404
    response = api.post(MEMBERS, {"household": int(big)}, format="json")
    assert response.status_code == 400
    assert "household" in response.json()


@pytest.mark.django_db
def test_page_size_is_capped_at_200(api, province_admin, desa_lebak):
    api.force_authenticate(province_admin)
    HouseholdFactory.create_batch(3, desa=desa_lebak, head=False)
    body = api.get(HOUSEHOLDS, {"page_size": 2}).json()
    assert (body["count"], len(body["results"])) == (3, 2)
    assert body["next"]
    assert len(api.get(HOUSEHOLDS, {"page_size": 5000}).json()["results"]) == 3


PAGE_QUERIES = 2  # count + page (the user's access is computed once per request and cached)


@pytest.mark.django_db
@pytest.mark.parametrize("fixture", ["province_admin", "field_worker_lebak"])
def test_list_queries_do_not_grow_with_the_page_size(
    fixture, api, request, desa_lebak, django_assert_num_queries
):
    as_user(api, request, fixture)
    for household in HouseholdFactory.create_batch(60, desa=desa_lebak):
        MemberFactory(household=household)
    api.get(HOUSEHOLDS)  # warm-up: the user's access
    params = {"kecamatan": "36.02.01", "q": "Warga", "ordering": "-member_count"}
    for size in (5, 50):
        with django_assert_num_queries(PAGE_QUERIES + 1):  # + the kecamatan filter's region
            response = api.get(HOUSEHOLDS, {**params, "page_size": size})
        assert len(response.json()["results"]) == size
        assert response.json()["results"][0]["member_count"] == 2


@pytest.mark.django_db
def test_member_list_queries_do_not_grow_with_the_page_size(
    api, province_admin, desa_lebak, django_assert_num_queries
):
    api.force_authenticate(province_admin)
    HouseholdFactory.create_batch(60, desa=desa_lebak)
    api.get(MEMBERS)
    for size in (5, 50):
        with django_assert_num_queries(PAGE_QUERIES):
            response = api.get(MEMBERS, {"page_size": size, "relationship": "head"})
        assert len(response.json()["results"]) == size


# --- the Lebak field worker and Pandeglang ----------------------------------------------------


@pytest.mark.django_db
def test_field_worker_never_reaches_another_district(
    api, field_worker_lebak, lebak_hh, pandeglang_hh
):
    api.force_authenticate(field_worker_lebak)
    other = pandeglang_hh.members.get()
    body = api.get(HOUSEHOLDS).json()
    assert body["count"] == 1
    assert [row["id"] for row in body["results"]] == [lebak_hh.pk]
    for q in (other.name, other.nik, pandeglang_hh.no_kk):
        assert api.get(HOUSEHOLDS, {"q": q}).json()["count"] == 0
        assert api.get(MEMBERS, {"nik": other.nik, "name": q}).json()["count"] == 0
    assert api.get(HOUSEHOLDS, {"kabupaten": "36.01"}).json()["count"] == 0
    assert api.get(MEMBERS, {"household": pandeglang_hh.pk}).json()["count"] == 0
    assert api.get(household_url(pandeglang_hh.pk)).status_code == 404
    assert api.get(member_url(other.pk)).status_code == 404
    before = counts()
    patch = {"version": pandeglang_hh.version, "address": "x"}
    assert api.patch(household_url(pandeglang_hh.pk), patch, format="json").status_code == 404
    assert api.patch(member_url(other.pk), {"name": "x"}, format="json").status_code == 404
    leave = {"status": "moved_out", "left_on": "2025-01-01"}
    assert api.post(member_url(other.pk, "leave"), leave, format="json").status_code == 404
    assert counts() == before
    pandeglang_hh.refresh_from_db()
    assert pandeglang_hh.address != "x"


# --- retrieve ---------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fixture", "lebak", "pandeglang"),
    [
        ("province_admin", 200, 200),
        ("auditor", 200, 200),
        ("district_lebak", 200, 404),
        ("district_pandeglang", 404, 200),
        ("field_worker_lebak", 200, 404),
        ("opd_officer", 404, 404),
        ("csr_partner", 404, 404),
        ("no_role_user", 404, 404),
    ],
)
def test_retrieve_per_role(fixture, lebak, pandeglang, api, request, lebak_hh, pandeglang_hh):
    as_user(api, request, fixture)
    assert api.get(household_url(lebak_hh.pk)).status_code == lebak
    assert api.get(household_url(pandeglang_hh.pk)).status_code == pandeglang
    assert api.get(member_url(lebak_hh.members.get().pk)).status_code == lebak


@pytest.mark.django_db
def test_unknown_or_malformed_ids_are_404(api, province_admin):
    api.force_authenticate(province_admin)
    for url in ("/api/v1/households/999999/", "/api/v1/households/abc/", "/api/v1/members/x/"):
        assert api.get(url).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fixture", "clear"),
    [
        ("province_admin", True),
        ("district_lebak", True),
        ("field_worker_lebak", True),
        ("auditor", False),
    ],
)
def test_detail_numbers_in_clear_only_for_identity_readers_and_logged(
    fixture, clear, api, request, lebak_hh
):
    user = as_user(api, request, fixture)
    head = lebak_hh.members.get()
    KkChange.objects.create(household=lebak_hh, new_no_kk=lebak_hh.no_kk, reason="first")
    response = api.get(household_url(lebak_hh.pk))
    body = response.json()
    text = response.content.decode()
    assert response.status_code == 200
    assert body["no_kk"] == (lebak_hh.no_kk if clear else mask(lebak_hh.no_kk))
    assert body["members"][0]["nik"] == (head.nik if clear else mask(head.nik))
    assert body["members"][0]["name"] == head.name
    assert body["kk_changes"][0]["new_no_kk"] == body["no_kk"]
    assert (head.nik in text, lebak_hh.no_kk in text) == (clear, clear)
    logged = PersonalDataAccess.objects.filter(user=user, household=lebak_hh)
    assert list(logged.values_list("channel", "action")) == ([("api", "view")] if clear else [])

    response = api.get(member_url(head.pk))
    assert response.json()["nik"] == (head.nik if clear else mask(head.nik))
    assert logged.count() == (2 if clear else 0)

    api.get(HOUSEHOLDS)
    api.get(MEMBERS)
    assert logged.count() == (2 if clear else 0)  # lists are masked and not logged


@pytest.mark.django_db
def test_detail_content(api, province_admin, lebak_hh):
    api.force_authenticate(province_admin)
    odd_nik = nik_for(district_code="360299", birth_date=date(2010, 1, 2), sex="F", serial=4)
    MemberFactory(household=lebak_hh, nik=odd_nik, sex="F", birth_date=date(2010, 1, 2))
    gone = MemberFactory(household=lebak_hh, status="moved_out", left_on=date(2024, 5, 1))
    body = api.get(household_url(lebak_hh.pk)).json()
    assert body["desa"] == "36.02.01.2002"
    assert body["kecamatan"] == "36.02.01"
    assert body["kabupaten"] == "36.02"
    assert body["monthly_expenditure"] == 1_200_000
    assert body["version"] == lebak_hh.version
    assert body["member_count"] == 2  # the one who left is listed but not counted
    members = {m["id"]: m for m in body["members"]}
    assert members[gone.pk]["status"] == "moved_out"
    odd = next(m for m in body["members"] if m["nik"] == odd_nik)
    assert odd["nik_warnings"]
    head = next(m for m in body["members"] if m["relationship"] == "head")
    assert head["nik_warnings"] == []
    assert body["head_name"] == head["name"]


# --- create -----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("fixture", EDITORS)
def test_editors_register_a_household_with_members(fixture, api, request):
    user = as_user(api, request, fixture)
    response = api.post(HOUSEHOLDS, registration(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    household = Household.objects.get(pk=body["id"])
    assert household.created_by == user
    assert household.no_kk == NEW_KK
    assert household.monthly_expenditure == 900_000
    assert household.members.count() == 2
    assert household.members.get(relationship="head").nik == HEAD_NIK
    assert household.kk_changes.get().reason == "first"
    assert body["no_kk"] == NEW_KK
    assert {m["nik"] for m in body["members"]} == {HEAD_NIK, CHILD_NIK}
    assert body["member_count"] == 2


@pytest.mark.django_db
@pytest.mark.parametrize("fixture", READ_ONLY)
def test_read_only_roles_cannot_register(fixture, api, request):
    as_user(api, request, fixture)
    before = counts()
    response = api.post(HOUSEHOLDS, registration(), format="json")
    assert response.status_code == 403
    assert counts() == before


@pytest.mark.django_db
def test_read_only_role_gets_403_before_input_errors(api, auditor):
    api.force_authenticate(auditor)
    assert api.post(HOUSEHOLDS, {"no_kk": "1"}, format="json").status_code == 403


@pytest.mark.django_db
def test_district_cannot_register_outside_its_district(api, district_pandeglang):
    api.force_authenticate(district_pandeglang)
    before = counts()
    response = api.post(HOUSEHOLDS, registration(), format="json")
    assert response.status_code == 400
    assert "desa" in response.json()
    assert counts() == before


@pytest.mark.django_db
def test_registration_needs_json(api, province_admin):
    api.force_authenticate(province_admin)
    response = api.post(HOUSEHOLDS, {"no_kk": NEW_KK}, format="multipart")
    assert response.status_code == 415


def _existing_nik(request):
    return request.getfixturevalue("lebak_hh").members.get().nik


BAD_REGISTRATIONS = [
    # (name, payload factory, field key named in the answer)
    ("nik too short", lambda r: with_member(0, nik=HEAD_NIK[:14]), "members[0].nik"),
    ("nik too long", lambda r: with_member(0, nik=HEAD_NIK + "1"), "members[0].nik"),
    ("nik not digits", lambda r: with_member(0, nik=HEAD_NIK[:10] + "8a0007"), "members[0].nik"),
    ("nik unknown province", lambda r: with_member(0, nik="00" + HEAD_NIK[2:]), "members[0].nik"),
    (
        "nik impossible date",
        lambda r: with_member(0, nik=HEAD_NIK[:6] + "320380" + HEAD_NIK[12:]),
        "members[0].nik",
    ),
    (
        "impossible birth date",
        lambda r: with_member(0, birth_date="1980-02-30"),
        "members[0].birth_date",
    ),
    (
        "nik birth date mismatch",
        lambda r: with_member(0, birth_date="1980-03-16"),
        "members[0].nik",
    ),
    ("nik sex mismatch", lambda r: with_member(0, sex="F"), "members[0].nik"),
    ("duplicate nik in register", lambda r: with_member(1, nik=_existing_nik(r)), "members[1].nik"),
    ("duplicate nik in payload", lambda r: with_member(1, nik=HEAD_NIK), "members[1].nik"),
    ("second head", lambda r: with_member(1, relationship="head"), "members"),
    ("no members", lambda r: registration(members=[]), "members"),
    ("bad sex choice", lambda r: with_member(1, sex="X"), "members[1].sex"),
    ("member name missing", lambda r: with_member(1, name=""), "members[1].name"),
    ("negative rupiah", lambda r: registration(monthly_expenditure=-1), "monthly_expenditure"),
    ("decimal rupiah", lambda r: registration(monthly_expenditure=1500.5), "monthly_expenditure"),
    ("dotted rupiah", lambda r: registration(monthly_income="1.000"), "monthly_income"),
    ("text rupiah", lambda r: registration(monthly_income="sejuta"), "monthly_income"),
    ("boolean rupiah", lambda r: registration(monthly_income=True), "monthly_income"),
    ("kk too short", lambda r: registration(no_kk="360201"), "no_kk"),
    ("kk unknown province", lambda r: registration(no_kk="00" + NEW_KK[2:]), "no_kk"),
    ("unknown desa", lambda r: registration(desa="36.02.01.9999"), "desa"),
    ("desa is a kecamatan", lambda r: registration(desa="36.02.01"), "desa"),
    ("desil out of range", lambda r: registration(desil=11), "desil"),
    ("lat outside Indonesia", lambda r: registration(lat=45.0, lng=106.0), "lat"),
    ("unknown choice", lambda r: registration(water_source="lake"), "water_source"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("make", "field"),
    [(make, field) for _n, make, field in BAD_REGISTRATIONS],
    ids=[name for name, _m, _f in BAD_REGISTRATIONS],
)
def test_bad_registration_is_400_naming_the_field_and_writes_nothing(
    make, field, api, field_worker_lebak, request
):
    payload = make(request)
    api.force_authenticate(field_worker_lebak)
    before = counts()
    response = api.post(HOUSEHOLDS, payload, format="json")
    assert response.status_code == 400, response.json()
    body = response.json()
    assert field in body, body
    assert all(isinstance(m, str) and m for m in body[field])
    assert counts() == before


@pytest.mark.django_db
def test_duplicate_kk_is_refused(api, field_worker_lebak, lebak_hh):
    api.force_authenticate(field_worker_lebak)
    before = counts()
    response = api.post(HOUSEHOLDS, registration(no_kk=lebak_hh.no_kk), format="json")
    assert response.status_code == 400
    assert "no_kk" in response.json()
    assert counts() == before


@pytest.mark.django_db
def test_future_left_on_and_birth_date_are_refused(api, field_worker_lebak):
    api.force_authenticate(field_worker_lebak)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = api.post(HOUSEHOLDS, with_member(1, birth_date=tomorrow), format="json")
    assert response.status_code == 400
    assert "members[1].birth_date" in response.json()


@pytest.mark.django_db
def test_whole_rupiah_as_text_or_integral_number_is_accepted(api, field_worker_lebak):
    api.force_authenticate(field_worker_lebak)
    payload = registration(monthly_expenditure="900000", monthly_income=750000.0)
    response = api.post(HOUSEHOLDS, payload, format="json")
    assert response.status_code == 201, response.json()
    household = Household.objects.get()
    assert (household.monthly_expenditure, household.monthly_income) == (900_000, 750_000)


@pytest.mark.django_db
def test_gps_with_many_decimals_is_rounded(api, field_worker_lebak):
    api.force_authenticate(field_worker_lebak)
    payload = registration(lat=-6.76974812345, lng=106.00662187)
    assert api.post(HOUSEHOLDS, payload, format="json").status_code == 201
    household = Household.objects.get()
    assert (str(household.lat), str(household.lng)) == ("-6.769748", "106.006622")


# --- partial update ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("fixture", EDITORS)
def test_editors_patch_a_household(fixture, api, request, lebak_hh):
    as_user(api, request, fixture)
    patch = {"version": lebak_hh.version, "monthly_expenditure": 800_000, "toilet": "none"}
    response = api.patch(household_url(lebak_hh.pk), patch, format="json")
    assert response.status_code == 200, response.json()
    lebak_hh.refresh_from_db()
    assert (lebak_hh.monthly_expenditure, lebak_hh.toilet) == (800_000, "none")
    assert lebak_hh.address.startswith("Kampung")  # untouched
    assert response.json()["version"] == lebak_hh.version == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fixture", "expected"), [*((f, 403) for f in READ_ONLY), ("district_pandeglang", 404)]
)
def test_others_cannot_patch(fixture, expected, api, request, lebak_hh):
    as_user(api, request, fixture)
    patch = {"version": lebak_hh.version, "monthly_expenditure": 1}
    response = api.patch(household_url(lebak_hh.pk), patch, format="json")
    assert response.status_code == expected
    lebak_hh.refresh_from_db()
    assert lebak_hh.monthly_expenditure == 1_200_000


@pytest.mark.django_db
def test_stale_version_is_409_and_writes_nothing(api, district_lebak, lebak_hh):
    api.force_authenticate(district_lebak)
    url = household_url(lebak_hh.pk)
    assert api.patch(url, {"version": 1, "rt": "003"}, format="json").status_code == 200
    response = api.patch(url, {"version": 1, "rt": "009"}, format="json")
    assert response.status_code == 409
    assert response.json()["detail"]
    lebak_hh.refresh_from_db()
    assert (lebak_hh.rt, lebak_hh.version) == ("003", 2)


@pytest.mark.django_db
def test_patch_needs_the_version(api, district_lebak, lebak_hh):
    api.force_authenticate(district_lebak)
    response = api.patch(household_url(lebak_hh.pk), {"rt": "003"}, format="json")
    assert response.status_code == 400
    assert "version" in response.json()


@pytest.mark.django_db
def test_kk_change_needs_a_reason_and_is_kept(api, district_lebak, lebak_hh):
    api.force_authenticate(district_lebak)
    url = household_url(lebak_hh.pk)
    old = lebak_hh.no_kk
    before = counts()
    response = api.patch(url, {"version": 1, "no_kk": NEW_KK}, format="json")
    assert response.status_code == 400
    assert "kk_change_reason" in response.json()
    assert counts() == before
    response = api.patch(
        url, {"version": 1, "no_kk": NEW_KK, "kk_change_reason": "split"}, format="json"
    )
    assert response.status_code == 200, response.json()
    change = KkChange.objects.get(household=lebak_hh)
    assert (change.old_no_kk, change.new_no_kk, change.reason) == (old, NEW_KK, "split")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"monthly_expenditure": -5}, "monthly_expenditure"),
        ({"monthly_income": 10.25}, "monthly_income"),
        ({"no_kk": "12345"}, "no_kk"),
        ({"desa": "36.01.01.2001"}, "desa"),  # outside the field worker's kecamatan
        ({"desil": 0}, "desil"),
        ({"version": "x"}, "version"),
    ],
)
def test_bad_patch_is_400_naming_the_field(patch, field, api, field_worker_lebak, lebak_hh):
    api.force_authenticate(field_worker_lebak)
    before = counts()
    response = api.patch(household_url(lebak_hh.pk), {"version": 1, **patch}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert counts() == before
    lebak_hh.refresh_from_db()
    assert (lebak_hh.version, lebak_hh.monthly_expenditure) == (1, 1_200_000)


@pytest.mark.django_db
def test_no_delete_or_put(api, province_admin, lebak_hh):
    api.force_authenticate(province_admin)
    url = household_url(lebak_hh.pk)
    assert api.delete(url).status_code == 405
    assert api.put(url, registration(), format="json").status_code == 405
    assert api.delete(member_url(lebak_hh.members.get().pk)).status_code == 405
    assert Household.objects.filter(pk=lebak_hh.pk).exists()


# --- members ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_member_list_is_masked_and_filtered(api, province_admin, lebak_hh, pandeglang_hh):
    api.force_authenticate(province_admin)
    head = lebak_hh.members.get()
    response = api.get(MEMBERS, {"household": lebak_hh.pk})
    body = response.json()
    assert body["count"] == 1
    row = body["results"][0]
    assert (row["id"], row["household"], row["nik"]) == (head.pk, lebak_hh.pk, mask(head.nik))
    assert row["name"] == head.name
    assert head.nik not in response.content.decode()
    assert api.get(MEMBERS, {"nik": head.nik}).json()["count"] == 1
    assert api.get(MEMBERS).json()["count"] == 2
    assert api.get(MEMBERS, {"relationship": "child"}).json()["count"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize("fixture", NON_READERS)
def test_member_list_is_empty_without_the_register(fixture, api, request, lebak_hh):
    as_user(api, request, fixture)
    assert api.get(MEMBERS).json()["count"] == 0


@pytest.mark.django_db
def test_member_add_update_make_head_and_leave(api, field_worker_lebak, lebak_hh):
    api.force_authenticate(field_worker_lebak)
    old_head = lebak_hh.members.get()
    new = {
        "household": lebak_hh.pk,
        "nik": CHILD_NIK,
        "name": "Nur Aini",
        "relationship": "spouse",
        "sex": "F",
        "birth_date": CHILD_BIRTH.isoformat(),
    }
    response = api.post(MEMBERS, new, format="json")
    assert response.status_code == 201, response.json()
    member_id = response.json()["id"]
    assert response.json()["nik"] == CHILD_NIK
    assert response.json()["nik_warnings"] == []

    response = api.patch(member_url(member_id), {"occupation": "Petani"}, format="json")
    assert response.status_code == 200, response.json()
    assert Member.objects.get(pk=member_id).occupation == "Petani"

    response = api.post(
        member_url(member_id, "make-head"), {"previous_head_relationship": "spouse"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["relationship"] == "head"
    old_head.refresh_from_db()
    assert old_head.relationship == "spouse"

    response = api.post(
        member_url(old_head.pk, "leave"), {"status": "died", "left_on": "2025-01-05"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "died"
    old_head.refresh_from_db()
    assert (old_head.status, old_head.left_on) == ("died", date(2025, 1, 5))
    lebak_hh.refresh_from_db()
    assert lebak_hh.version == 5  # each change to a member is a change to the household


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("action", "data", "field"),
    [
        ("make-head", {"previous_head_relationship": "head"}, "previous_head_relationship"),
        ("make-head", {}, "previous_head_relationship"),
        ("leave", {"status": "active", "left_on": "2025-01-01"}, "status"),
        ("leave", {"status": "died", "left_on": "2025-02-30"}, "left_on"),
        ("leave", {"status": "died", "left_on": "2999-01-01"}, "left_on"),
    ],
)
def test_member_action_errors_name_the_field(
    action, data, field, api, field_worker_lebak, lebak_hh
):
    api.force_authenticate(field_worker_lebak)
    child = MemberFactory(household=lebak_hh)
    response = api.post(member_url(child.pk, action), data, format="json")
    assert response.status_code == 400
    assert field in response.json()
    child.refresh_from_db()
    assert (child.relationship, child.status) == ("child", "active")


@pytest.mark.django_db
def test_head_cannot_leave_before_the_others(api, field_worker_lebak, lebak_hh):
    api.force_authenticate(field_worker_lebak)
    MemberFactory(household=lebak_hh)
    head = lebak_hh.members.get(relationship="head")
    data = {"status": "moved_out", "left_on": "2025-01-01"}
    response = api.post(member_url(head.pk, "leave"), data, format="json")
    assert response.status_code == 400
    assert "status" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"relationship": "head"}, "relationship"),  # a second head
        ({"nik": "use-existing"}, "nik"),  # a NIK already in the register
        ({"nik": "36020115038"}, "nik"),
        ({"birth_date": "1980-03-16"}, "nik"),
        ({"household": 999999}, "household"),
        ({"sex": ""}, "sex"),
    ],
)
def test_bad_member_add_is_400_naming_the_field(changes, field, api, field_worker_lebak, lebak_hh):
    api.force_authenticate(field_worker_lebak)
    data = {
        "household": lebak_hh.pk,
        "nik": HEAD_NIK,
        "name": "Ahmad",
        "relationship": "other_relative",
        "sex": "M",
        "birth_date": HEAD_BIRTH.isoformat(),
        **changes,
    }
    if data["nik"] == "use-existing":
        data["nik"] = lebak_hh.members.get().nik
    before = counts()
    response = api.post(MEMBERS, data, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert counts() == before


@pytest.mark.django_db
def test_field_worker_cannot_add_to_another_districts_household(
    api, field_worker_lebak, pandeglang_hh
):
    api.force_authenticate(field_worker_lebak)
    data = {
        "household": pandeglang_hh.pk,
        "nik": HEAD_NIK,
        "name": "Ahmad",
        "relationship": "child",
        "sex": "M",
        "birth_date": HEAD_BIRTH.isoformat(),
    }
    before = counts()
    response = api.post(MEMBERS, data, format="json")
    assert response.status_code == 400
    assert "household" in response.json()
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("fixture", READ_ONLY)
def test_read_only_roles_cannot_change_members(fixture, api, request, lebak_hh):
    as_user(api, request, fixture)
    head = lebak_hh.members.get()
    before = counts()
    data = {"household": lebak_hh.pk, "nik": HEAD_NIK, "name": "A", "relationship": "child"}
    assert api.post(MEMBERS, data, format="json").status_code == 403
    assert api.patch(member_url(head.pk), {"name": "X"}, format="json").status_code == 403
    make_head = {"previous_head_relationship": "child"}
    assert api.post(member_url(head.pk, "make-head"), make_head, format="json").status_code == 403
    leave = {"status": "died", "left_on": "2025-01-01"}
    assert api.post(member_url(head.pk, "leave"), leave, format="json").status_code == 403
    assert counts() == before
    head.refresh_from_db()
    assert head.name != "X"


@pytest.mark.django_db
def test_member_patch_errors(api, field_worker_lebak, lebak_hh):
    api.force_authenticate(field_worker_lebak)
    head = lebak_hh.members.get()
    response = api.patch(member_url(head.pk), {"relationship": "child"}, format="json")
    assert response.status_code == 400
    assert "relationship" in response.json()
    response = api.patch(member_url(head.pk), {"nik": "123"}, format="json")
    assert response.status_code == 400
    assert "nik" in response.json()
    head.refresh_from_db()
    assert head.relationship == "head"


# --- CSR partner: no personal data anywhere ---------------------------------------------------


@pytest.mark.django_db
def test_csr_partner_gets_no_personal_data_from_any_endpoint(
    api, csr_partner, lebak_hh, pandeglang_hh
):
    MemberFactory(household=lebak_hh)
    api.force_authenticate(csr_partner)
    secrets = personal_strings(lebak_hh, pandeglang_hh)
    member_ids = list(Member.objects.values_list("pk", flat=True))
    head = lebak_hh.members.get(relationship="head")
    responses = [
        api.get(HOUSEHOLDS),
        api.get(HOUSEHOLDS, {"q": head.name}),
        api.get(HOUSEHOLDS, {"q": head.nik[:6]}),
        api.get(HOUSEHOLDS, {"kabupaten": "36.02", "page_size": 200}),
        api.get(MEMBERS),
        api.get(MEMBERS, {"nik": head.nik}),
        api.get(MEMBERS, {"name": head.name[:3]}),
        api.get(MEMBERS, {"household": lebak_hh.pk}),
        api.get(reverse("region-list")),
        api.get(reverse("region-detail", args=["36.02.01.2002"])),
        api.get(reverse("api-root")),
        api.post(HOUSEHOLDS, registration(no_kk=lebak_hh.no_kk), format="json"),
        api.post(MEMBERS, {"household": lebak_hh.pk, "nik": head.nik}, format="json"),
    ]
    for pk in (lebak_hh.pk, pandeglang_hh.pk):
        responses += [
            api.get(household_url(pk)),
            api.patch(household_url(pk), {"version": 1, "rt": "9"}, format="json"),
        ]
    for pk in member_ids:
        responses += [
            api.get(member_url(pk)),
            api.patch(member_url(pk), {"name": "x"}, format="json"),
            api.post(member_url(pk, "make-head"), {"previous_head_relationship": "child"}),
            api.post(member_url(pk, "leave"), {"status": "died", "left_on": "2025-01-01"}),
        ]
    for response in responses:
        assert response.status_code in (200, 403, 404), response.status_code
        text = response.content.decode()
        if response.status_code == 200 and "count" in text:
            body = json.loads(text)
            assert "results" in body
        leaked = [s for s in secrets if s and s in text]
        assert not leaked, (response.request["PATH_INFO"], leaked)
    assert api.get(HOUSEHOLDS).json()["count"] == 0
    assert api.get(MEMBERS).json()["count"] == 0
    assert not PersonalDataAccess.objects.exists()
