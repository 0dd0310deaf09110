"""The register's HTML pages: who sees what, masking and logging, forms and their errors."""

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from households import choices as c
from households import services
from households.identity import mask, nik_for
from households.models import Household, KkChange, Member, PersonalDataAccess
from tests.factories import HouseholdFactory, MemberFactory

HEAD_BIRTH = date(1980, 3, 15)
HEAD_NIK = nik_for(district_code="360201", birth_date=HEAD_BIRTH, sex="M", serial=7)
NEW_KK = "3602010101250001"
READERS = ["province_admin", "district_lebak", "field_worker_lebak", "auditor"]
NON_READERS = ["csr_partner", "opd_officer", "no_role_user"]
EDITORS = ["province_admin", "district_lebak", "field_worker_lebak"]


@pytest.fixture
def lebak_hh(desa_lebak):
    return HouseholdFactory(desa=desa_lebak, desil=1, monthly_expenditure=1_200_000)


@pytest.fixture
def pandeglang_hh(desa_pandeglang):
    return HouseholdFactory(desa=desa_pandeglang)


def login(client, request, fixture):
    user = request.getfixturevalue(fixture)
    client.force_login(user)
    return user


def counts():
    return Household.objects.count(), Member.objects.count(), KkChange.objects.count()


# --- list -------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("fixture", NON_READERS)
def test_list_is_forbidden_without_the_register(fixture, client, request):
    login(client, request, fixture)
    assert client.get(reverse("households:list")).status_code == 403


@pytest.mark.django_db
def test_list_needs_login(client):
    response = client.get(reverse("households:list"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize("fixture", READERS)
def test_list_shows_masked_numbers_and_formatted_money(fixture, client, request, lebak_hh):
    login(client, request, fixture)
    head = lebak_hh.members.get()
    response = client.get(reverse("households:list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert head.name in html
    assert mask(lebak_hh.no_kk) in html
    assert mask(head.nik) in html
    assert head.nik not in html
    assert lebak_hh.no_kk not in html
    assert "Rp 1.200.000" in html
    assert ("households/new/" in html) == (fixture in EDITORS)


@pytest.mark.django_db
def test_field_worker_never_sees_other_districts(
    client, field_worker_lebak, lebak_hh, pandeglang_hh
):
    client.force_login(field_worker_lebak)
    other = pandeglang_hh.members.get()
    url = reverse("households:list")
    html = client.get(url).content.decode()
    assert lebak_hh.members.get().name in html
    assert other.name not in html
    for q in (other.name, other.nik, pandeglang_hh.no_kk):
        response = client.get(url, {"q": q})
        assert response.context["page"].paginator.count == 0
    response = client.get(url, {"kabupaten": "36.01"})
    assert response.context["page"].paginator.count == 0


@pytest.mark.django_db
def test_search_and_region_filters(client, province_admin, lebak_hh, pandeglang_hh):
    client.force_login(province_admin)
    url = reverse("households:list")
    head = lebak_hh.members.get()

    def found(**params):
        return [h.pk for h in client.get(url, params).context["page"]]

    assert found(q=head.name) == [lebak_hh.pk]
    assert found(q=head.nik) == [lebak_hh.pk]
    assert found(q=lebak_hh.no_kk[:10]) == [lebak_hh.pk]
    assert found(desa=lebak_hh.desa.code) == [lebak_hh.pk]
    assert found(kabupaten="36.01") == [pandeglang_hh.pk]
    assert found(desil="1") == [lebak_hh.pk]
    # a new kabupaten drops the kecamatan of the old one instead of finding nothing
    assert found(kabupaten="36.01", kecamatan="36.02.01") == [pandeglang_hh.pk]


@pytest.mark.django_db
def test_htmx_request_gets_the_table_partial(client, province_admin, lebak_hh):
    client.force_login(province_admin)
    response = client.get(
        reverse("households:list"), {"q": "", "desa": lebak_hh.desa.code}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    assert "table-households" in html
    assert response.templates[0].name == "households/partials/_table.html"
    # the pushed address is the cleaned one: empty values dropped, parents filled in
    assert response["HX-Push-Url"] == (
        "/households/?kabupaten=36.02&kecamatan=36.02.01&desa=36.02.01.2002"
    )
    full = client.get(reverse("households:list")).content.decode()
    assert "<html" in full
    assert 'id="household-table"' in full


@pytest.mark.django_db
def test_list_runs_a_constant_number_of_queries(
    client, district_lebak, desa_lebak, django_assert_num_queries
):
    client.force_login(district_lebak)
    url = reverse("households:list")
    params = {"kabupaten": "36.02", "kecamatan": "36.02.01"}
    HouseholdFactory.create_batch(5, desa=desa_lebak)
    client.get(url, params)  # warm the session
    with CaptureQueriesContext(connection) as five:
        assert len(client.get(url, params).context["page"]) == 5
    HouseholdFactory.create_batch(25, desa=desa_lebak)
    with django_assert_num_queries(len(five)):
        assert len(client.get(url, params).context["page"]) == 25


@pytest.mark.django_db
def test_junk_parameters_are_ignored_never_an_error(client, province_admin, lebak_hh):
    client.force_login(province_admin)
    junk = {"kabupaten": "zz\x00", "kecamatan": "36.02.01\x00", "desil": "abc", "page": "x"}
    response = client.get(reverse("households:list"), {**junk, "status": "foo", "q": "a\x00"})
    assert response.status_code == 200
    options = client.get(reverse("regions:options"), {"level": "village", "kecamatan": "\x00"})
    assert options.status_code == 200


@pytest.mark.django_db
def test_list_paginates_by_25(client, province_admin, desa_lebak):
    client.force_login(province_admin)
    HouseholdFactory.create_batch(26, desa=desa_lebak, head=False)
    response = client.get(reverse("households:list"), {"page": 2})
    assert response.context["page"].number == 2
    assert len(response.context["page"]) == 1


# --- detail and history -----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("fixture", ["field_worker_lebak", "district_lebak"])
def test_detail_outside_scope_is_404(fixture, client, request, pandeglang_hh):
    login(client, request, fixture)
    for name in ("households:detail", "households:history", "households:edit"):
        assert client.get(reverse(name, args=[pandeglang_hh.pk])).status_code == 404
    assert not PersonalDataAccess.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("fixture", NON_READERS)
def test_detail_is_forbidden_without_the_register(fixture, client, request, lebak_hh):
    login(client, request, fixture)
    assert client.get(reverse("households:detail", args=[lebak_hh.pk])).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize(("fixture", "clear"), [("field_worker_lebak", True), ("auditor", False)])
def test_detail_shows_numbers_in_clear_only_to_identity_readers_and_logs_it(
    fixture, clear, client, request, lebak_hh
):
    user = login(client, request, fixture)
    head = lebak_hh.members.get()
    response = client.get(reverse("households:detail", args=[lebak_hh.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert head.name in html
    assert (head.nik in html, lebak_hh.no_kk in html) == (clear, clear)
    assert (mask(head.nik) in html) == (not clear)
    logged = PersonalDataAccess.objects.filter(user=user, household=lebak_hh, channel="html")
    assert logged.count() == (1 if clear else 0)
    assert ("/edit/" in html) == clear  # the auditor reads only


@pytest.mark.django_db
def test_detail_shows_members_ages_and_nik_warnings(client, province_admin, lebak_hh):
    odd_nik = nik_for(district_code="360299", birth_date=date(2010, 1, 2), sex="F", serial=4)
    MemberFactory(household=lebak_hh, nik=odd_nik, sex="F", birth_date=date(2010, 1, 2))
    client.force_login(province_admin)
    response = client.get(reverse("households:detail", args=[lebak_hh.pk]))
    members = {m.nik: m for m in response.context["members"]}
    assert members[odd_nik].nik_warnings
    assert not members[lebak_hh.members.get(relationship="head").nik].nik_warnings
    assert members[odd_nik].age >= 15
    assert "text-bg-warning" in response.content.decode()


@pytest.mark.django_db
def test_history_shows_who_changed_what(client, district_lebak, auditor, lebak_hh):
    services.household_update(actor=district_lebak, household=lebak_hh, monthly_income=2_000_000)
    client.force_login(auditor)
    response = client.get(reverse("households:history", args=[lebak_hh.pk]))
    latest = response.context["entries"][0]
    assert latest["who"] == district_lebak
    assert any(new == "Rp 2.000.000" for _label, _old, new in latest["changes"])
    assert not PersonalDataAccess.objects.exists()  # masked for the auditor: nothing to log


# --- register ---------------------------------------------------------------------------------


def register_data(desa, /, **overrides):
    data = {
        "kabupaten": desa.code[:5],
        "kecamatan": desa.code[:8],
        "desa": desa.code,
        "no_kk": NEW_KK,
        "rt": "003",
        "rw": "001",
        "address": "Kampung Babakan",
        "monthly_expenditure": "1500000",
        "registration_source": c.RegistrationSource.FIELD,
        "head-nik": HEAD_NIK,
        "head-name": "Ahmad Sujana",
        "head-sex": c.Sex.MALE,
        "head-birth_date": HEAD_BIRTH.isoformat(),
        "head-school_enrolment": c.SchoolEnrolment.NOT_SCHOOL_AGE,
        "head-disability": c.Disability.NONE,
        "head-health_insurance": c.HealthInsurance.PBI_JKN,
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_register_page_preselects_the_field_workers_area(client, field_worker_lebak):
    client.force_login(field_worker_lebak)
    response = client.get(reverse("households:create"))
    location = response.context["location"]
    assert location["kabupaten"].value() == "36.02"
    assert location["kecamatan"].value() == "36.02.01"
    desa_codes = [code for code, _name in location.fields["desa"].widget.choices if code]
    assert "36.02.01.2002" in desa_codes
    assert all(code.startswith("36.02.01.") for code in desa_codes)


@pytest.mark.django_db
def test_register_writes_household_and_head(client, field_worker_lebak, desa_lebak):
    client.force_login(field_worker_lebak)
    response = client.post(reverse("households:create"), register_data(desa_lebak))
    household = Household.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("households:detail", args=[household.pk])
    head = household.members.get()
    assert (head.nik, head.relationship, head.name) == (HEAD_NIK, "head", "Ahmad Sujana")
    assert (household.desa, household.no_kk, household.monthly_expenditure) == (
        desa_lebak,
        NEW_KK,
        1_500_000,
    )
    assert household.created_by == field_worker_lebak
    assert household.kk_changes.get().reason == c.KkChangeReason.FIRST


BAD_INPUT = [
    ("head-nik", "360201150380000", "head", "nik"),  # 15 digits
    ("head-nik", "36020115038000A7", "head", "nik"),  # not digits
    ("head-nik", "9902011503800007", "head", "nik"),  # unknown province
    ("head-nik", "3602013202800007", "head", "nik"),  # day 32: impossible date
    ("head-nik", "3602011504800007", "head", "nik"),  # 15 April, but born 15 March
    ("head-birth_date", "1980-02-30", "head", "birth_date"),  # impossible birth date
    ("monthly_expenditure", "-1", "form", "monthly_expenditure"),
    ("no_kk", "123", "form", "no_kk"),
    ("desa", "36.01.01.2001", "location", "desa"),  # outside the Lebak field worker's area
    ("desa", "36.02.01", "location", "desa"),  # not a village
]


@pytest.mark.django_db
@pytest.mark.parametrize(("key", "value", "form_name", "field"), BAD_INPUT)
def test_register_bad_input_shows_the_field_error_and_writes_nothing(
    key, value, form_name, field, client, field_worker_lebak, desa_lebak
):
    client.force_login(field_worker_lebak)
    before = counts()
    response = client.post(reverse("households:create"), register_data(desa_lebak, **{key: value}))
    assert response.status_code == 200
    form = response.context[form_name]
    assert field in form.errors
    assert f'id="{form[field].auto_id}_error"' in response.content.decode()
    assert counts() == before


@pytest.mark.django_db
def test_register_shows_shape_and_identity_errors_together(client, field_worker_lebak, desa_lebak):
    client.force_login(field_worker_lebak)
    data = register_data(desa_lebak, **{"head-nik": "3602", "monthly_expenditure": "-5"})
    response = client.post(reverse("households:create"), data)
    assert "nik" in response.context["head"].errors
    assert "monthly_expenditure" in response.context["form"].errors
    assert not Household.objects.exists()


@pytest.mark.django_db
def test_register_shows_birth_date_and_nik_match_errors_in_the_first_round(
    client, field_worker_lebak, desa_lebak
):
    client.force_login(field_worker_lebak)
    future = (timezone.localdate() + timedelta(days=2)).isoformat()
    data = register_data(desa_lebak, **{"head-birth_date": future, "no_kk": "123"})
    response = client.post(reverse("households:create"), data)
    head = response.context["head"]
    assert head.errors["birth_date"] == ["Tanggal lahir tidak boleh di masa depan."]
    assert "no_kk" in response.context["form"].errors
    # Both at the top of the long form, each linked to its field.
    page = response.content.decode()
    summary = page[page.index("data-error-summary") :]
    summary = summary[: summary.index("</div>")]
    assert 'href="#id_no_kk"' in summary
    assert 'href="#id_head-birth_date"' in summary
    # The NIK's date (15 March 1980) against another valid birth date, with a shape error too.
    data = register_data(desa_lebak, **{"head-birth_date": "1980-04-15", "no_kk": "123"})
    response = client.post(reverse("households:create"), data)
    assert "nik" in response.context["head"].errors
    assert "no_kk" in response.context["form"].errors
    assert not Household.objects.exists()


@pytest.mark.django_db
def test_register_duplicate_nik_is_refused(client, field_worker_lebak, desa_lebak, lebak_hh):
    client.force_login(field_worker_lebak)
    existing = lebak_hh.members.get()
    before = counts()
    data = register_data(
        desa_lebak,
        **{
            "head-nik": existing.nik,
            "head-birth_date": existing.birth_date.isoformat(),
            "head-sex": existing.sex,
        },
    )
    response = client.post(reverse("households:create"), data)
    assert "nik" in response.context["head"].errors
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize("fixture", ["auditor", *NON_READERS])
def test_register_is_forbidden_to_read_only_roles(fixture, client, request, desa_lebak):
    login(client, request, fixture)
    assert client.get(reverse("households:create")).status_code == 403
    response = client.post(reverse("households:create"), register_data(desa_lebak))
    assert response.status_code == 403
    assert not Household.objects.exists()


# --- edit -------------------------------------------------------------------------------------


def edit_data(household, **overrides):
    data = {
        "version": household.version,
        "kabupaten": household.desa.code[:5],
        "kecamatan": household.desa.code[:8],
        "desa": household.desa.code,
        "no_kk": household.no_kk,
        "rt": household.rt,
        "rw": household.rw,
        "address": household.address,
        "monthly_expenditure": household.monthly_expenditure or "",
        "registration_source": household.registration_source,
        "status": household.status,
        "desil": household.desil or "",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_edit_saves_and_bumps_the_version(client, field_worker_lebak, lebak_hh):
    client.force_login(field_worker_lebak)
    url = reverse("households:edit", args=[lebak_hh.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, edit_data(lebak_hh, rt="009", monthly_expenditure="900000"))
    assert response.status_code == 302
    lebak_hh.refresh_from_db()
    assert (lebak_hh.rt, lebak_hh.monthly_expenditure, lebak_hh.version) == ("009", 900_000, 2)


@pytest.mark.django_db
def test_edit_kk_change_needs_a_reason(client, district_lebak, lebak_hh):
    client.force_login(district_lebak)
    url = reverse("households:edit", args=[lebak_hh.pk])
    old_kk = lebak_hh.no_kk
    response = client.post(url, edit_data(lebak_hh, no_kk=NEW_KK))
    assert "kk_change_reason" in response.context["form"].errors
    assert response.context["show_kk_reason"]
    lebak_hh.refresh_from_db()
    assert lebak_hh.no_kk == old_kk
    response = client.post(url, edit_data(lebak_hh, no_kk=NEW_KK, kk_change_reason="split"))
    assert response.status_code == 302
    change = lebak_hh.kk_changes.get()
    assert (change.old_no_kk, change.new_no_kk, change.reason) == (old_kk, NEW_KK, "split")


@pytest.mark.django_db
def test_kk_reason_select_appears_only_when_the_number_changes(client, district_lebak, lebak_hh):
    client.force_login(district_lebak)
    url = reverse("households:kk_reason", args=[lebak_hh.pk])
    same = client.get(url, {"no_kk": lebak_hh.no_kk}, HTTP_HX_REQUEST="true")
    changed = client.get(url, {"no_kk": NEW_KK}, HTTP_HX_REQUEST="true")
    assert "kk_change_reason" not in same.content.decode()
    assert 'name="kk_change_reason"' in changed.content.decode()


@pytest.mark.django_db
def test_edit_on_a_stale_version_is_a_conflict(client, district_lebak, lebak_hh):
    client.force_login(district_lebak)
    stale = edit_data(lebak_hh, rt="005")
    services.household_update(actor=district_lebak, household=lebak_hh, rt="004")
    response = client.post(reverse("households:edit", args=[lebak_hh.pk]), stale)
    assert response.status_code == 409
    assert response.context["form"].non_field_errors()
    lebak_hh.refresh_from_db()
    assert lebak_hh.rt == "004"


@pytest.mark.django_db
def test_edit_desa_outside_area_is_a_field_error(client, field_worker_lebak, lebak_hh):
    client.force_login(field_worker_lebak)
    data = edit_data(lebak_hh, kabupaten="36.01", kecamatan="36.01.01", desa="36.01.01.2001")
    response = client.post(reverse("households:edit", args=[lebak_hh.pk]), data)
    assert "desa" in response.context["location"].errors
    lebak_hh.refresh_from_db()
    assert lebak_hh.desa.code == "36.02.01.2002"


@pytest.mark.django_db
def test_auditor_cannot_edit(client, auditor, lebak_hh):
    client.force_login(auditor)
    url = reverse("households:edit", args=[lebak_hh.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, edit_data(lebak_hh, rt="009")).status_code == 403
    member = lebak_hh.members.get()
    for name in ("member_edit", "member_make_head", "member_leave"):
        assert client.get(reverse(f"households:{name}", args=[member.pk])).status_code == 403
    assert client.get(reverse("households:member_add", args=[lebak_hh.pk])).status_code == 403


# --- members ----------------------------------------------------------------------------------

CHILD_BIRTH = date(2015, 6, 1)


def member_data(**overrides):
    data = {
        "nik": nik_for(district_code="360201", birth_date=CHILD_BIRTH, sex="F", serial=12),
        "name": "Nur",
        "relationship": c.Relationship.CHILD,
        "sex": c.Sex.FEMALE,
        "birth_date": CHILD_BIRTH.isoformat(),
        "school_enrolment": c.SchoolEnrolment.ENROLLED,
        "disability": c.Disability.NONE,
        "health_insurance": c.HealthInsurance.NONE,
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_member_add(client, field_worker_lebak, lebak_hh):
    client.force_login(field_worker_lebak)
    response = client.post(reverse("households:member_add", args=[lebak_hh.pk]), member_data())
    assert response.status_code == 302
    assert lebak_hh.members.filter(name="Nur", relationship="child").exists()


@pytest.mark.django_db
def test_second_head_via_member_add_is_a_field_error(client, field_worker_lebak, lebak_hh):
    client.force_login(field_worker_lebak)
    response = client.post(
        reverse("households:member_add", args=[lebak_hh.pk]), member_data(relationship="head")
    )
    assert "relationship" in response.context["form"].errors
    assert lebak_hh.members.count() == 1


@pytest.mark.django_db
def test_member_pages_outside_scope_are_404(client, field_worker_lebak, pandeglang_hh):
    client.force_login(field_worker_lebak)
    member = pandeglang_hh.members.get()
    assert client.get(reverse("households:member_add", args=[pandeglang_hh.pk])).status_code == 404
    for name in ("member_edit", "member_make_head", "member_leave"):
        url = reverse(f"households:{name}", args=[member.pk])
        assert client.get(url).status_code == 404
        assert client.post(url, {}).status_code == 404


@pytest.mark.django_db
def test_member_edit_and_head_relationship_is_locked(client, field_worker_lebak, lebak_hh):
    client.force_login(field_worker_lebak)
    head = lebak_hh.members.get()
    url = reverse("households:member_edit", args=[head.pk])
    assert client.get(url).context["form"].fields["relationship"].disabled
    data = member_data(
        nik=head.nik, name="Ahmad Baru", sex=head.sex, birth_date=head.birth_date.isoformat()
    )
    data["relationship"] = "spouse"  # ignored: the head changes only through "make head"
    assert client.post(url, data).status_code == 302
    head.refresh_from_db()
    assert (head.name, head.relationship) == ("Ahmad Baru", "head")


@pytest.mark.django_db
def test_make_head_and_leave(client, field_worker_lebak, lebak_hh):
    client.force_login(field_worker_lebak)
    old_head = lebak_hh.members.get()
    wife = MemberFactory(household=lebak_hh, relationship="spouse", sex="F")
    url = reverse("households:member_make_head", args=[wife.pk])
    assert "previous_head_relationship" in client.post(url, {}).context["form"].errors
    assert client.post(url, {"previous_head_relationship": "spouse"}).status_code == 302
    wife.refresh_from_db()
    old_head.refresh_from_db()
    assert (wife.relationship, old_head.relationship) == ("head", "spouse")

    leave = reverse("households:member_leave", args=[wife.pk])
    today = date.today().isoformat()
    response = client.post(leave, {"status": "died", "left_on": today})
    assert "status" in response.context["form"].errors  # the head leaves last
    future = (date.today() + timedelta(days=3)).isoformat()
    response = client.post(
        reverse("households:member_leave", args=[old_head.pk]),
        {"status": "moved_out", "left_on": future},
    )
    assert "left_on" in response.context["form"].errors
    response = client.post(
        reverse("households:member_leave", args=[old_head.pk]),
        {"status": "moved_out", "left_on": today},
    )
    assert response.status_code == 302
    old_head.refresh_from_db()
    assert (old_head.status, old_head.left_on) == ("moved_out", date.today())


@pytest.mark.django_db
def test_region_selects_narrow_to_the_users_area(client, field_worker_lebak):
    client.force_login(field_worker_lebak)
    url = reverse("regions:options")
    kecamatan = client.get(url, {"level": "district", "kabupaten": "36.02"}).content.decode()
    assert 'value="36.02.01"' in kecamatan
    assert 'value="36.02.02"' not in kecamatan
    assert 'hx-swap-oob="innerHTML:#id_desa"' in kecamatan
    desa = client.get(url, {"level": "village", "kecamatan": "36.02.01"}).content.decode()
    assert 'value="36.02.01.2002"' in desa
    other = client.get(url, {"level": "district", "kabupaten": "36.01"}).content.decode()
    assert "36.01." not in other
