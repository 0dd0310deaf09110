"""Visit pages: the field worker's landing page, the offline form, the list, a visit with its
conflicts, supervision, photos and the service worker. Scoped: another area is 404."""

import io
import re
import uuid
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from households import services as register
from households import visit_views, visits
from households.models import Household, Visit
from tests.conftest import make_user
from tests.factories import HouseholdFactory

LAT, LNG = "-6.809777", "106.023404"


@pytest.fixture(autouse=True)
def _english(settings, tmp_path):
    settings.LANGUAGE_CODE = "en"
    settings.MEDIA_ROOT = tmp_path


def _overdue(household, days=40):
    Household.objects.filter(pk=household.pk).update(
        created_at=timezone.now() - timedelta(days=days)
    )


def _record(worker, household, **fields):
    data = {
        "uuid": uuid.uuid4(),
        "visited_at": timezone.now() - timedelta(hours=2),
        "household_version": household.version,
        "met": "head",
    }
    data.update(fields)
    visit, _created = visits.visit_record(actor=worker, household=household, **data)
    return visit


def test_a_field_worker_lands_on_the_visits_due(client, field_worker_lebak):
    client.force_login(field_worker_lebak)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/visits/"


def test_the_due_page_lists_the_area_most_urgent_first_in_few_queries(
    client, field_worker_lebak, desa_lebak, desa_pandeglang, django_assert_max_num_queries
):
    households = [HouseholdFactory(desa=desa_lebak) for _ in range(4)]
    for days, household in zip((10, 50, 20, 30), households, strict=True):
        _overdue(household, days)
    HouseholdFactory(desa=desa_pandeglang)
    client.force_login(field_worker_lebak)
    with django_assert_max_num_queries(10):
        response = client.get("/visits/")
    assert response.status_code == 200
    order = [h.pk for h in response.context["households"]]
    assert order == [households[1].pk, households[3].pk, households[2].pk, households[0].pk]
    assert response.context["overdue"] == 4
    assert "4 households are overdue." in response.text
    assert "data-due-cut" not in response.text  # all of them are shown
    data = response.context["phone_data"]
    assert data[0]["id"] == households[1].pk
    assert data[0]["members"][0]["name"]
    assert b'id="visit-due-data"' in response.content
    assert f"/visits/record/?household={households[1].pk}".encode() in response.content


def test_the_due_page_counts_every_household_when_the_list_is_cut(
    client, field_worker_lebak, desa_lebak, desa_pandeglang, monkeypatch,
    django_assert_max_num_queries,
):  # fmt: skip
    monkeypatch.setattr(visit_views, "DUE_LIMIT", 3)
    overdue = [HouseholdFactory(desa=desa_lebak) for _ in range(5)]
    for days, household in zip((10, 20, 30, 40, 50), overdue, strict=True):
        _overdue(household, days)
    soon = [HouseholdFactory(desa=desa_lebak) for _ in range(2)]  # due within the week
    _overdue(HouseholdFactory(desa=desa_pandeglang), 60)  # another area: not counted
    client.force_login(field_worker_lebak)
    with django_assert_max_num_queries(10):
        response = client.get("/visits/")
    assert response.status_code == 200
    assert response.context["overdue"] == 5
    assert response.context["due_total"] == 7
    shown = [h.pk for h in response.context["households"]]
    assert shown == [overdue[4].pk, overdue[3].pk, overdue[2].pk]  # the most urgent
    assert [h["id"] for h in response.context["phone_data"]] == shown  # the phone's list too
    assert not {h.pk for h in soon} & set(shown)
    assert "5 households are overdue." in response.text
    assert "Showing the 3 most urgent of 7 households due" in response.text
    data = response.text.split('id="visit-due-data"', 1)[1].split("</script>", 1)[0]
    assert data.count('"members"') == 3


def test_the_visit_form_carries_the_household_and_refuses_other_areas(
    client, field_worker_lebak, auditor, desa_lebak, desa_pandeglang
):
    mine = HouseholdFactory(desa=desa_lebak)
    other = HouseholdFactory(desa=desa_pandeglang)
    client.force_login(field_worker_lebak)
    response = client.get(f"/visits/record/?household={mine.pk}")
    assert response.status_code == 200
    assert response.context["phone_household"]["version"] == mine.version
    # Without JavaScript the form could not queue or send a visit: it says so instead.
    notice = response.text.split("<noscript data-needs-script>", 1)[1].split("</noscript>", 1)[0]
    assert "needs JavaScript" in notice
    assert "#visit-form { display: none; }" in notice
    assert client.get("/visits/record/").status_code == 200  # the offline shell
    assert client.get(f"/visits/record/?household={other.pk}").status_code == 404
    assert client.get("/visits/record/?household=abc").status_code == 404
    client.force_login(auditor)
    assert client.get(f"/visits/record/?household={mine.pk}").status_code == 403


def _head(household):
    return household.members.get(relationship="head").name


@pytest.mark.parametrize("rows", [2, 6])
def test_the_visit_list_is_scoped_and_constant_in_queries(
    rows, client, field_worker_lebak, desa_lebak, desa_pandeglang, django_assert_num_queries
):
    households = [HouseholdFactory(desa=desa_lebak) for _ in range(rows)]
    for household in households:
        _record(field_worker_lebak, household)
    other_worker = make_user("pendamping_pdg", "field_worker", "Dinsos Banten", "36.01.01")
    hidden = _record(other_worker, HouseholdFactory(desa=desa_pandeglang))
    client.force_login(field_worker_lebak)
    # The same number of queries for 2 rows as for 6 (the head's name is a subquery), one of
    # them for the field-worker filter's choices.
    with django_assert_num_queries(7):
        response = client.get("/visits/list/")
    assert response.status_code == 200
    assert response.context["page"].paginator.count == rows
    html = response.text
    for household in households:
        assert f'href="/households/{household.pk}/">{_head(household)}</a>' in html
    assert f">#{households[0].pk}<" not in html
    assert client.get(f"/visits/{hidden.pk}/").status_code == 404
    partial = client.get("/visits/list/", HTTP_HX_REQUEST="true")
    assert b"<html" not in partial.content


def test_the_visit_page_names_the_household_head_not_ids_or_versions(
    client, field_worker_lebak, district_lebak, desa_lebak, django_assert_max_num_queries
):
    household = HouseholdFactory(desa=desa_lebak)
    loaded = household.version
    register.household_update(actor=district_lebak, household=household, monthly_income=10)
    visit = _record(field_worker_lebak, household, household_version=loaded, monthly_income=20)
    household.refresh_from_db()
    assert visit.household_version == loaded < household.version
    assert visit.conflict_status == "open"
    client.force_login(district_lebak)
    with django_assert_max_num_queries(12):
        page = client.get(f"/visits/{visit.pk}/")
    assert page.status_code == 200
    html = page.text
    heading = html.split('<h1 class="h4">', 1)[1].split("</h1>", 1)[0]
    assert f'<a href="/households/{household.pk}/">{_head(household)}</a>' in heading
    assert f"#{household.pk}" not in heading
    assert "household version seen" not in html
    # A conflict is explained in words, without version numbers.
    assert "changed on the server after the phone loaded it" in html
    assert "version" not in html.split("<main", 1)[1].split("</main>", 1)[0].lower()


def test_a_household_without_a_head_is_said_so_on_the_visit_pages(
    client, field_worker_lebak, desa_lebak
):
    household = HouseholdFactory(desa=desa_lebak)
    household.members.update(status="left")
    visit = _record(field_worker_lebak, household)
    client.force_login(field_worker_lebak)
    assert "(no head)" in client.get(f"/visits/{visit.pk}/").text
    assert "(no head)" in client.get("/visits/list/").text


def test_a_conflict_is_resolved_on_the_visit_page(
    client, field_worker_lebak, district_lebak, district_pandeglang, desa_lebak
):
    household = HouseholdFactory(desa=desa_lebak)
    loaded = household.version
    register.household_update(
        actor=district_lebak, household=household, monthly_expenditure=2_000_000
    )
    visit = _record(
        field_worker_lebak, household, household_version=loaded, monthly_expenditure=500_000
    )
    assert visit.conflict_status == "open"
    client.force_login(field_worker_lebak)
    page = client.get(f"/visits/{visit.pk}/")
    assert page.context["form"] is None
    assert b"Conflicts" in page.content
    assert client.post(f"/visits/{visit.pk}/resolve/", {"accept": []}).status_code == 403
    client.force_login(district_pandeglang)
    assert client.get(f"/visits/{visit.pk}/").status_code == 404
    client.force_login(district_lebak)
    page = client.get(f"/visits/{visit.pk}/")
    assert page.context["form"] is not None
    bad = client.post(f"/visits/{visit.pk}/resolve/", {"accept": ["nik"]})
    assert bad.status_code == 200
    assert bad.context["form"].errors
    response = client.post(
        f"/visits/{visit.pk}/resolve/", {"accept": ["monthly_expenditure"], "note": "ok"}
    )
    assert response.status_code == 302
    household.refresh_from_db()
    assert household.monthly_expenditure == 500_000
    visit.refresh_from_db()
    assert visit.conflict_status == "resolved"
    assert visit.conflicts[0]["outcome"] == "visit"
    district_lebak.first_name, district_lebak.last_name = "Siti", "Rahma"
    district_lebak.save()
    page = client.get(f"/visits/{visit.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Resolved by Siti Rahma on" in page  # the person, not the username


def test_supervision_counts_overdue_conflicts_and_far_points(
    client, field_worker_lebak, district_lebak, desa_lebak, settings
):
    settings.VISIT_FAR_METRES = 2000
    overdue = HouseholdFactory(desa=desa_lebak)
    _overdue(overdue, 60)
    far = HouseholdFactory(desa=desa_lebak, lat=LAT, lng=LNG)
    _record(field_worker_lebak, far, lat="-6.900000", lng=LNG)
    client.force_login(district_lebak)
    response = client.get("/visits/supervision/")
    assert response.status_code == 200
    worker = next(r for r in response.context["workers"] if r["username"] == "pendamping")
    assert worker["overdue"] == 1
    assert worker["visits"] == 1
    assert worker["far"] == 1
    kecamatan = {row["code"]: row for row in response.context["kecamatan"]}
    assert kecamatan["36.02.01"]["overdue"] == 1
    assert kecamatan["36.02.01"]["far"] == 1
    client.force_login(field_worker_lebak)
    assert client.get("/visits/supervision/").status_code == 403


def test_supervision_reads_in_a_fixed_number_of_queries(
    client, province_admin, field_worker_lebak, desa_lebak, django_assert_max_num_queries
):
    for _ in range(3):
        household = HouseholdFactory(desa=desa_lebak)
        _overdue(household)
        _record(field_worker_lebak, household)
    for index in range(3):
        make_user(f"pendamping_{index}", "field_worker", "Dinsos Banten", "36.02.02")
    client.force_login(province_admin)
    with django_assert_max_num_queries(12):
        assert client.get("/visits/supervision/").status_code == 200


def test_a_photo_is_served_only_in_scope(
    client, field_worker_lebak, district_pandeglang, desa_lebak
):
    household = HouseholdFactory(desa=desa_lebak)
    buffer = io.BytesIO()
    Image.new("RGB", (50, 40), (1, 2, 3)).save(buffer, "PNG")
    buffer.seek(0)
    visit = _record(field_worker_lebak, household, photos=[buffer])
    photo = visit.photos.get()
    client.force_login(field_worker_lebak)
    response = client.get(f"/visits/photos/{photo.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    client.force_login(district_pandeglang)
    assert client.get(f"/visits/photos/{photo.pk}/").status_code == 404


def test_roles_without_the_register_get_403(client, csr_partner, opd_officer):
    for user in (csr_partner, opd_officer):
        client.force_login(user)
        assert client.get("/visits/").status_code == 403
        assert client.get("/visits/list/").status_code == 403


def test_the_service_worker_is_served_at_the_root(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Cache-Control"] == "no-cache"
    body = response.content.decode()
    assert '"/visits/"' in body
    assert '"/visits/record/"' in body
    assert "js/visits.js" in body


def test_pages_include_the_offline_queue_for_signed_in_users(client, field_worker_lebak):
    client.force_login(field_worker_lebak)
    page = client.get("/visits/").content.decode()
    assert "js/visits.js" in page
    assert 'data-sw="/sw.js"' in page
    assert "data-queue-count" in page
    assert Visit.objects.count() == 0


@pytest.mark.parametrize(
    ("fixture", "records_visits"),
    [
        ("field_worker_lebak", True),
        ("district_lebak", True),
        ("province_admin", True),
        ("auditor", False),
        ("opd_officer", False),
        ("csr_partner", False),
    ],
)
def test_only_those_who_record_visits_get_the_offline_queue(
    db, client, request, fixture, records_visits
):
    """Others would register a service worker that fetches visit pages they may not open."""
    client.force_login(request.getfixturevalue(fixture))
    page = client.get("/", follow=True).content.decode()
    assert ("js/visits.js" in page) is records_visits
    assert ('data-sw="/sw.js"' in page) is records_visits


# role fixture -> (visit page, API detail) for a visit to a household in Kabupaten Pandeglang
MATRIX = [
    ("province_admin", 200, 200),
    ("district_pandeglang", 200, 200),
    ("auditor", 200, 200),
    ("district_lebak", 404, 404),
    ("field_worker_lebak", 404, 404),
    ("opd_officer", 403, 404),
    ("csr_partner", 403, 404),
    ("no_role_user", 403, 404),
]


@pytest.mark.parametrize(("fixture", "page", "api_detail"), MATRIX)
def test_a_pandeglang_visit_per_role(
    fixture, page, api_detail, request, client, api, desa_pandeglang
):
    worker = make_user("pendamping_pdg", "field_worker", "Dinsos Banten", "36.01.01")
    visit = _record(worker, HouseholdFactory(desa=desa_pandeglang))
    user = request.getfixturevalue(fixture)
    client.force_login(user)
    api.force_authenticate(user)
    assert client.get(f"/visits/{visit.pk}/").status_code == page
    assert api.get(f"/api/v1/visits/{visit.pk}/").status_code == api_detail


def test_the_list_filters_read_plainly_and_offer_only_reachable_districts(
    client, field_worker_lebak
):
    client.force_login(field_worker_lebak)
    page = client.get(reverse("visits:list"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    form = page.context["form"]
    assert "desa" not in form.fields
    districts = {region.code for region in form.fields["kecamatan"].queryset}
    assert districts == {"36.02.01"}  # Malingping, the only district this worker reaches
    html = page.content.decode()
    assert 'type="hidden" name="household"' in html
    assert 'type="date" name="visited_at_after"' in html
    assert "Far from the household" in html
    assert "visited_at_after, visited_at_before" not in html


def test_the_date_range_filter_is_a_named_group_of_two_labelled_inputs(client, district_lebak):
    client.force_login(district_lebak)
    html = client.get("/visits/list/").text
    form = html.split('role="search"', 1)[1].split("</form>", 1)[0]
    assert 'for=""' not in form
    for target in re.findall(r'<label[^>]* for="([^"]+)"', form):
        assert f'id="{target}"' in form
    group = form.split("<fieldset", 1)[1].split("</fieldset>", 1)[0]
    assert "<legend" in group
    assert "Visited between</legend>" in group
    assert 'class="filter-inputs"' in group
    assert re.search(r'<input type="date" name="visited_at_after" aria-label="From"', group)
    assert re.search(r'<input type="date" name="visited_at_before" aria-label="To"', group)


def test_the_field_worker_filter_offers_the_workers_whose_visits_the_user_sees(
    client, field_worker_lebak, district_lebak, desa_lebak, desa_pandeglang
):
    field_worker_lebak.first_name, field_worker_lebak.last_name = "Siti", "Aminah"
    field_worker_lebak.save()
    colleague = make_user("pendamping_2", "field_worker", "Dinsos Banten", "36.02.01")
    other = make_user("pendamping_pdg", "field_worker", "Dinsos Banten", "36.01.01")
    mine = _record(field_worker_lebak, HouseholdFactory(desa=desa_lebak))
    theirs = _record(colleague, HouseholdFactory(desa=desa_lebak))
    _record(other, HouseholdFactory(desa=desa_pandeglang))
    make_user("pendamping_idle", "field_worker", "Dinsos Banten", "36.02.01")  # no visits
    client.force_login(district_lebak)
    page = client.get("/visits/list/")
    field = page.context["form"]["worker"]
    assert field.label == "Field worker"
    choices = list(field.field.widget.choices)
    # By name, only those who recorded a visit in the user's area (Pandeglang's is not here).
    assert choices == [("", "Any field worker"), ("pendamping_2", "pendamping_2"),
                       ("pendamping", "Siti Aminah")]  # fmt: skip
    assert '<select name="worker"' in page.text
    filtered = client.get("/visits/list/", {"worker": "pendamping"})
    assert [v.pk for v in filtered.context["page"]] == [mine.pk]
    assert '<option value="pendamping" selected>Siti Aminah</option>' in filtered.text
    filtered = client.get("/visits/list/", {"worker": "pendamping_2"})
    assert [v.pk for v in filtered.context["page"]] == [theirs.pk]
    # Two people of the same name are told apart by their usernames.
    colleague.first_name, colleague.last_name = "Siti", "Aminah"
    colleague.save()
    choices = list(client.get("/visits/list/").context["form"]["worker"].field.widget.choices)
    assert [label for _value, label in choices[1:]] == [
        "Siti Aminah (pendamping)",
        "Siti Aminah (pendamping_2)",
    ]


def test_the_member_change_row_labels_name_their_inputs(client, field_worker_lebak, desa_lebak):
    household = HouseholdFactory(desa=desa_lebak)
    client.force_login(field_worker_lebak)
    html = client.get(f"/visits/record/?household={household.pk}").text
    row = html.split('<template id="member-change-row">', 1)[1].split("</template>", 1)[0]
    labels = re.findall(r"<label\b[^>]*>", row)
    assert len(labels) == 11
    for label in labels:
        target = re.search(r'for="([^"]+)"', label)
        assert target, label
        assert "__row__" in target[1]  # made unique per row by visits.js
        assert row.count(f'id="{target[1]}"') == 1
    assert len(set(re.findall(r'id="([^"]+)"', row))) == 11
