"""Field visits: recording (idempotent by UUID), photos, member changes, conflicts, verification,
the schedule, the API and its refusals. Recalculations are counted on the patched task."""

import io
import json
import os
import uuid
from datetime import date, timedelta
from unittest import mock

import pytest
from django.utils import timezone
from PIL import Image

from households import choices as c
from households import services as register
from households import visit_selectors, visits
from households.identity import nik_for
from households.models import Household, Member, Visit, VisitPhoto
from interventions.models import Case, Transition
from tests.conftest import make_user
from tests.factories import HouseholdFactory, MemberFactory, VisitFactory, next_serial

URL = "/api/v1/visits/"
# A point in Cilangkahan (Malingping, Lebak), the field worker's area.
LAT, LNG = "-6.809777", "106.023404"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def recalc():
    """The per-household recalculation task, patched: count its calls."""
    with mock.patch("interventions.tasks.recalculate_household.delay") as delay:
        yield delay


@pytest.fixture
def household(desa_lebak):
    return HouseholdFactory(desa=desa_lebak, lat=LAT, lng=LNG, monthly_expenditure=1_200_000)


def payload(household, **changes) -> dict:
    data = {
        "uuid": str(uuid.uuid4()),
        "household": household.pk,
        "visited_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "household_version": household.version,
        "met": "head",
        "lat": LAT,
        "lng": LNG,
        "gps_accuracy_m": 12,
        "monthly_expenditure": 900_000,
        "monthly_income": 700_000,
        "unmet_needs": ["water"],
        "notes": "Rumah bocor.",
    }
    data.update(changes)
    return data


def image_file(size=(2400, 1800), fmt="JPEG", exif=True, name="photo.jpg") -> io.BytesIO:
    buffer = io.BytesIO()
    image = Image.new("RGB", size, (200, 120, 40))
    kwargs = {}
    if exif:
        info = Image.Exif()
        info[0x010F] = "PhoneMaker"  # Make
        info[0x8825] = {2: (6.0, 48.0, 0.0)}  # GPSInfo
        kwargs["exif"] = info
    image.save(buffer, fmt, **kwargs)
    buffer.seek(0)
    buffer.name = name
    return buffer


def post(api, data, fmt="json"):
    if fmt == "multipart" and "member_changes" in data:
        data = {**data, "member_changes": json.dumps(data["member_changes"])}
    return api.post(URL, data, format=fmt)


# --- recording and idempotency ----------------------------------------------------------------


def test_a_visit_updates_the_household_and_keeps_before_and_after(
    api, field_worker_lebak, household, recalc, django_capture_on_commit_callbacks
):
    api.force_authenticate(field_worker_lebak)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, payload(household))
    assert response.status_code == 201, response.json()
    body = response.json()
    household.refresh_from_db()
    assert household.monthly_expenditure == 900_000
    assert household.monthly_income == 700_000
    assert {ch["field"]: (ch["before"], ch["after"]) for ch in body["changes"]} == {
        "monthly_expenditure": (1_200_000, 900_000),
        "monthly_income": (1_000_000, 700_000),
    }
    assert body["conflict_status"] == "none"
    assert body["distance_m"] == 0
    assert body["is_far"] is False
    assert body["unmet_needs"] == ["water"]
    recalc.assert_called_once_with(household.pk)


def test_the_same_visit_posted_three_times_is_one_visit_and_one_recalculation(
    api, field_worker_lebak, household, recalc, django_capture_on_commit_callbacks
):
    api.force_authenticate(field_worker_lebak)
    data = payload(household)
    statuses = []
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            statuses.append(post(api, data).status_code)
    assert statuses == [201, 200, 200]
    assert Visit.objects.count() == 1
    recalc.assert_called_once_with(household.pk)


def test_the_same_visit_with_photos_is_recognised_by_content(
    api, field_worker_lebak, household, recalc
):
    api.force_authenticate(field_worker_lebak)
    data = payload(household)
    first = post(api, {**data, "photos": [image_file()]}, fmt="multipart")
    again = post(api, {**data, "photos": [image_file()]}, fmt="multipart")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert VisitPhoto.objects.count() == 1


def test_a_reused_uuid_with_other_content_is_a_conflict(api, field_worker_lebak, household):
    api.force_authenticate(field_worker_lebak)
    data = payload(household)
    assert post(api, data).status_code == 201
    response = post(api, {**data, "monthly_expenditure": 500_000})
    assert response.status_code == 409
    household.refresh_from_db()
    assert household.monthly_expenditure == 900_000
    assert Visit.objects.count() == 1


def test_a_photo_is_resized_and_loses_its_exif(api, field_worker_lebak, household, media):
    api.force_authenticate(field_worker_lebak)
    response = post(api, {**payload(household), "photos": [image_file()]}, fmt="multipart")
    assert response.status_code == 201, response.json()
    photo = VisitPhoto.objects.get()
    assert max(photo.width, photo.height) == 1600
    with Image.open(photo.image.path) as stored:
        assert stored.format == "JPEG"
        assert max(stored.size) == 1600
        assert not stored.getexif()
    assert response.json()["photos"][0]["url"].endswith(f"/visits/photos/{photo.pk}/")


# --- refusals: nothing is stored ---------------------------------------------------------------


def _not_an_image():
    fake = io.BytesIO(b"%PDF-1.4 this is not a photo" * 20)
    fake.name = "photo.jpg"
    return fake


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"visited_at": (timezone.now() + timedelta(days=2)).isoformat()},
            "visited_at",
            "future",
        ),
        ({"visited_at": "0001-01-01T00:00:00"}, "visited_at", "wrong format"),
        ({"monthly_expenditure": -1}, "monthly_expenditure", "negative"),
        ({"lat": "40.000000", "lng": "10.000000"}, "lat", "outside Indonesia"),
        ({"lat": "-6.8"}, "lat", "both"),
        ({"met": "neighbour"}, "met", ""),
        ({"unmet_needs": ["wifi"]}, "unmet_needs", ""),
        ({"photos": "not-an-image"}, "photos[0]", "not a photo"),
        ({"photos": "too-large"}, "photos[0]", "larger than"),
        (
            {"member_changes": [{"change": "death", "member": 999999999, "on": "2026-01-01"}]},
            "member_changes[0].member",
            "member of this household",
        ),
        (
            {"member_changes": [{"change": "birth", "name": "Bayi"}]},
            "member_changes[0].nik",
            "required",
        ),
    ],
    ids=[
        "future",
        "year-one",
        "negative-spending",
        "gps-outside-indonesia",
        "half-a-point",
        "unknown-met",
        "unknown-need",
        "not-an-image",
        "photo-too-large",
        "member-elsewhere",
        "birth-without-nik",
    ],
)
def test_bad_input_is_refused_with_a_field_message_and_nothing_is_stored(
    api, field_worker_lebak, household, recalc, settings, changes, field, message
):
    settings.LANGUAGE_CODE = "en"
    settings.VISIT_PHOTO_MAX_BYTES = 50_000
    api.force_authenticate(field_worker_lebak)
    data = payload(household, **changes)
    if data.get("photos") == "not-an-image":
        data["photos"] = [_not_an_image()]
    elif data.get("photos") == "too-large":
        noise = Image.frombytes("RGB", (300, 300), os.urandom(300 * 300 * 3))
        big = io.BytesIO()
        noise.save(big, "PNG")
        big.seek(0)
        big.name = "big.png"
        data["photos"] = [big]
    if "lat" in changes and "lng" not in changes:
        data.pop("lng")
    response = post(api, data, fmt="multipart") if "photos" in data else post(api, data)
    assert response.status_code == 400, response.json()
    body = response.json()
    assert field in body, body
    assert message in " ".join(body[field])
    assert Visit.objects.count() == 0
    assert VisitPhoto.objects.count() == 0
    household.refresh_from_db()
    assert household.monthly_expenditure == 1_200_000
    recalc.assert_not_called()


def test_a_visit_outside_the_workers_area_is_404(api, field_worker_lebak, desa_pandeglang, recalc):
    elsewhere = HouseholdFactory(desa=desa_pandeglang)
    api.force_authenticate(field_worker_lebak)
    response = post(api, payload(elsewhere))
    assert response.status_code == 404
    assert Visit.objects.count() == 0
    recalc.assert_not_called()


def test_read_only_roles_cannot_record(api, auditor, csr_partner, household):
    for user in (auditor, csr_partner):
        api.force_authenticate(user)
        assert post(api, payload(household)).status_code == 403
    assert Visit.objects.count() == 0


def test_a_refused_member_change_refuses_the_whole_visit(
    api, field_worker_lebak, household, recalc, settings
):
    settings.LANGUAGE_CODE = "en"
    head = household.members.get()
    api.force_authenticate(field_worker_lebak)
    change = {"change": "death", "member": head.pk, "on": "2026-01-02"}
    response = post(api, payload(household, member_changes=[change]))
    assert response.status_code == 400
    assert "last member" in " ".join(response.json()["member_changes[0].status"])
    assert Visit.objects.count() == 0
    household.refresh_from_db()
    assert household.monthly_expenditure == 1_200_000
    recalc.assert_not_called()


# --- member changes ----------------------------------------------------------------------------


def test_member_changes_go_through_the_register_with_one_recalculation(
    api, field_worker_lebak, household, recalc, django_capture_on_commit_callbacks
):
    child = MemberFactory(household=household, birth_date=date(2012, 5, 1))
    spouse = MemberFactory(household=household, relationship=c.Relationship.SPOUSE)
    leaving = MemberFactory(household=household, birth_date=date(2001, 3, 3))
    baby_birth = timezone.localdate() - timedelta(days=20)
    baby_nik = nik_for(
        district_code=household.desa.digits[:6],
        birth_date=baby_birth,
        sex=c.Sex.FEMALE,
        serial=next_serial(),
    )
    member_changes = [
        {
            "change": "birth",
            "name": "Siti Bayi",
            "nik": baby_nik,
            "sex": "F",
            "birth_date": baby_birth.isoformat(),
        },
        {"change": "school", "member": child.pk, "school_enrolment": "enrolled"},
        {"change": "work", "member": spouse.pk, "work_status": "working", "occupation": "Buruh"},
        {"change": "moved_out", "member": leaving.pk, "on": "2026-11-01"},
    ]
    api.force_authenticate(field_worker_lebak)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, payload(household, member_changes=member_changes))
    assert response.status_code == 201, response.json()
    baby = Member.objects.get(nik=baby_nik)
    assert baby.relationship == c.Relationship.CHILD
    child.refresh_from_db()
    spouse.refresh_from_db()
    leaving.refresh_from_db()
    assert child.school_enrolment == "enrolled"
    assert (spouse.work_status, spouse.occupation) == ("working", "Buruh")
    assert (leaving.status, leaving.left_on) == ("moved_out", date(2026, 11, 1))
    changes = {ch["key"]: ch for ch in response.json()["changes"]}
    assert changes["member_changes[1]"]["before"] == {"school_enrolment": "not_school_age"}
    assert changes["member_changes[1]"]["after"] == {"school_enrolment": "enrolled"}
    assert changes["member_changes[3]"]["after"]["status"] == "moved_out"
    assert changes["member_changes[0]"]["member"] == baby.pk
    recalc.assert_called_once_with(household.pk)  # five register writes, one recalculation


def test_member_changes_in_a_multipart_form_are_json_text(api, field_worker_lebak, household):
    child = MemberFactory(household=household, birth_date=date(2012, 5, 1))
    api.force_authenticate(field_worker_lebak)
    data = payload(
        household,
        member_changes=[{"change": "school", "member": child.pk, "school_enrolment": "enrolled"}],
    )
    response = post(api, data, fmt="multipart")
    assert response.status_code == 201, response.json()
    child.refresh_from_db()
    assert child.school_enrolment == "enrolled"


# --- conflicts ---------------------------------------------------------------------------------


def test_a_stale_visit_is_stored_and_its_clashing_change_held_for_a_supervisor(
    api, field_worker_lebak, district_lebak, household, recalc, django_capture_on_commit_callbacks
):
    loaded = household.version
    register.household_update(
        actor=district_lebak, household=household, monthly_expenditure=1_500_000
    )
    api.force_authenticate(field_worker_lebak)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, payload(household, household_version=loaded))
    assert response.status_code == 201
    body = response.json()
    assert body["conflict_status"] == "open"
    assert body["conflicts"] == [
        {
            "key": "monthly_expenditure",
            "kind": "household",
            "field": "monthly_expenditure",
            "server": 1_500_000,
            "visit": 900_000,
        }
    ]
    household.refresh_from_db()
    assert household.monthly_expenditure == 1_500_000  # not written over
    assert household.monthly_income == 700_000  # untouched on the server: applied
    recalc.assert_called_once_with(household.pk)

    # The field worker cannot resolve; the district officer takes the visit's value.
    visit_id = body["id"]
    assert api.post(f"{URL}{visit_id}/resolve/", {"accept": []}, format="json").status_code == 403
    api.force_authenticate(district_lebak)
    listed = api.get(URL, {"conflict": "open"}).json()
    assert [row["id"] for row in listed["results"]] == [visit_id]
    recalc.reset_mock()
    with django_capture_on_commit_callbacks(execute=True):
        resolved = api.post(
            f"{URL}{visit_id}/resolve/",
            {"accept": ["monthly_expenditure"], "note": "Checked by phone."},
            format="json",
        )
    assert resolved.status_code == 200, resolved.json()
    assert resolved.json()["conflict_status"] == "resolved"
    assert resolved.json()["resolved_by"] == "kab_lebak"
    household.refresh_from_db()
    assert household.monthly_expenditure == 900_000
    recalc.assert_called_once_with(household.pk)
    again = api.post(f"{URL}{visit_id}/resolve/", {"accept": []}, format="json")
    assert again.status_code == 409


def test_a_stale_visit_whose_member_change_fails_holds_it(
    api, field_worker_lebak, district_lebak, household
):
    member = MemberFactory(household=household)
    loaded = household.version
    register.member_leave(
        actor=district_lebak, member=member, status=c.MemberStatus.DIED, left_on=date(2026, 10, 1)
    )
    household.refresh_from_db()
    api.force_authenticate(field_worker_lebak)
    change = {"change": "moved_out", "member": member.pk, "on": "2026-11-01"}
    response = post(api, payload(household, household_version=loaded, member_changes=[change]))
    assert response.status_code == 201
    body = response.json()
    assert body["conflict_status"] == "open"
    assert [x["key"] for x in body["conflicts"]] == ["member_changes[0]"]
    member.refresh_from_db()
    assert member.status == c.MemberStatus.DIED


def test_a_stale_version_without_clashing_fields_is_no_conflict(
    api, field_worker_lebak, district_lebak, household
):
    loaded = household.version
    # A member's change bumps the household's version but not its money fields.
    register.member_update(actor=district_lebak, member=household.members.get(), occupation="Tani")
    household.refresh_from_db()
    assert household.version > loaded
    api.force_authenticate(field_worker_lebak)
    response = post(api, payload(household, household_version=loaded))
    assert response.status_code == 201
    assert response.json()["conflict_status"] == "none"
    household.refresh_from_db()
    assert household.monthly_expenditure == 900_000


# --- verification ------------------------------------------------------------------------------


def test_the_first_visit_verifies_a_registered_household(
    api, field_worker_lebak, household, recalc, django_capture_on_commit_callbacks
):
    assert not Case.objects.filter(pk=household.pk).exists()  # registered
    api.force_authenticate(field_worker_lebak)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, payload(household))
    assert response.json()["verified_household"] is True
    assert Case.objects.get(pk=household.pk).state == "verified"
    transition = Transition.objects.get(household=household)
    assert (transition.from_state, transition.to_state) == ("registered", "verified")
    assert transition.evidence["visit"] == response.json()["id"]
    assert transition.actor == field_worker_lebak
    recalc.assert_called_once_with(household.pk)  # the visit's, not a second one
    second = post(api, payload(household, household_version=household.version + 1))
    assert second.json()["verified_household"] is False


def test_nobody_home_does_not_verify(api, field_worker_lebak, household):
    api.force_authenticate(field_worker_lebak)
    response = post(api, payload(household, met="nobody"))
    assert response.status_code == 201
    assert response.json()["verified_household"] is False
    assert not Case.objects.filter(pk=household.pk, state="verified").exists()


def test_a_visit_far_from_the_household_is_flagged(api, field_worker_lebak, household, settings):
    settings.VISIT_FAR_METRES = 2000
    api.force_authenticate(field_worker_lebak)
    response = post(api, payload(household, lat="-6.840000", lng="106.023404"))
    body = response.json()
    assert 3300 < body["distance_m"] < 3400
    assert body["is_far"] is True
    assert [r["id"] for r in api.get(URL, {"far": "true"}).json()["results"]] == [body["id"]]
    assert api.get(URL, {"far": "false"}).json()["results"] == []


# --- schedule ----------------------------------------------------------------------------------


def _age(household, days):
    Household.objects.filter(pk=household.pk).update(
        created_at=timezone.now() - timedelta(days=days)
    )


def _stage(household, state):
    Case.objects.update_or_create(
        household=household, defaults={"state": state, "since": timezone.now()}
    )


def test_the_due_list_puts_the_most_overdue_first(field_worker_lebak, desa_lebak, settings):
    settings.VISIT_CADENCE_DAYS = {"registered": 7, "tier1": 30, "graduated": 90}
    new = HouseholdFactory(desa=desa_lebak)  # registered today: due in 7 days (soon)
    old_registered = HouseholdFactory(desa=desa_lebak)
    _age(old_registered, 10)  # 3 days overdue
    tier1 = HouseholdFactory(desa=desa_lebak)
    _age(tier1, 100)
    _stage(tier1, "tier1")  # never visited: 70 days overdue
    visited = HouseholdFactory(desa=desa_lebak)
    _age(visited, 100)
    _stage(visited, "tier1")
    VisitFactory(
        household=visited,
        worker=field_worker_lebak,
        visited_at=timezone.now() - timedelta(days=5),
    )  # due in 25 days: not on the list
    graduated = HouseholdFactory(desa=desa_lebak)
    _age(graduated, 60)
    _stage(graduated, "graduated")  # quarterly: due in 30 days
    exited = HouseholdFactory(desa=desa_lebak)
    _age(exited, 400)
    _stage(exited, "exited")  # not scheduled
    rows = list(visit_selectors.due_list(field_worker_lebak))
    assert [h.pk for h in rows] == [tier1.pk, old_registered.pk, new.pk]
    assert rows[0].stage == "tier1"


def test_the_cadence_is_data(field_worker_lebak, desa_lebak, settings):
    household = HouseholdFactory(desa=desa_lebak)
    _age(household, 20)
    _stage(household, "tier2")
    settings.VISIT_CADENCE_DAYS = {"tier2": 30}
    assert not visit_selectors.due_list(field_worker_lebak, soon_days=0).exists()
    settings.VISIT_CADENCE_DAYS = {"tier2": 14}
    assert visit_selectors.due_list(field_worker_lebak, soon_days=0).get() == household


def test_the_due_list_stays_in_the_area(field_worker_lebak, desa_pandeglang, desa_lebak):
    mine = HouseholdFactory(desa=desa_lebak)
    HouseholdFactory(desa=desa_pandeglang)
    assert list(visit_selectors.due_list(field_worker_lebak)) == [mine]


# --- reads -------------------------------------------------------------------------------------


def _visit(household, worker, **fields):
    return VisitFactory(household=household, worker=worker, **fields)


def test_the_api_list_is_scoped_and_constant_in_queries(
    api, field_worker_lebak, desa_lebak, desa_pandeglang, django_assert_max_num_queries
):
    for _ in range(5):
        _visit(HouseholdFactory(desa=desa_lebak), field_worker_lebak)
    other = make_user("pendamping2", "field_worker", "Dinsos Banten", "36.01.01")
    hidden = _visit(HouseholdFactory(desa=desa_pandeglang), other)
    api.force_authenticate(field_worker_lebak)
    with django_assert_max_num_queries(8):
        response = api.get(URL)
    ids = [row["id"] for row in response.json()["results"]]
    assert len(ids) == 5
    assert hidden.pk not in ids
    assert api.get(f"{URL}{hidden.pk}/").status_code == 404
    assert api.get(f"{URL}99999999999999999999999/").status_code == 404


def test_opd_and_csr_see_no_visits(api, opd_officer, csr_partner, field_worker_lebak, household):
    _visit(household, field_worker_lebak)
    for user in (opd_officer, csr_partner):
        api.force_authenticate(user)
        assert api.get(URL).json()["results"] == []


def test_the_service_refuses_a_household_outside_the_area(field_worker_lebak, desa_pandeglang):
    from povertycase.errors import OutOfScope

    elsewhere = HouseholdFactory(desa=desa_pandeglang)
    with pytest.raises(OutOfScope):
        visits.visit_record(
            actor=field_worker_lebak,
            household=elsewhere,
            uuid=uuid.uuid4(),
            visited_at=timezone.now(),
            household_version=1,
            met="head",
        )


def test_distance_is_a_great_circle():
    # One degree of latitude is about 111 km.
    assert 110_000 < visits.distance_m(-6, 106, -7, 106) < 112_000


def test_a_held_member_change_that_still_fails_cannot_be_accepted(
    api, field_worker_lebak, district_lebak, household, settings
):
    settings.LANGUAGE_CODE = "en"
    member = MemberFactory(household=household)
    loaded = household.version
    register.member_leave(
        actor=district_lebak, member=member, status=c.MemberStatus.DIED, left_on=date(2026, 10, 1)
    )
    api.force_authenticate(field_worker_lebak)
    change = {"change": "moved_out", "member": member.pk, "on": "2026-11-01"}
    visit_id = post(api, payload(household, household_version=loaded, member_changes=[change]))
    visit_id = visit_id.json()["id"]
    api.force_authenticate(district_lebak)
    refused = api.post(
        f"{URL}{visit_id}/resolve/", {"accept": ["member_changes[0]"]}, format="json"
    )
    assert refused.status_code == 400
    assert "already left" in " ".join(refused.json()["accept"])
    assert Visit.objects.get(pk=visit_id).conflict_status == "open"
    unknown = api.post(f"{URL}{visit_id}/resolve/", {"accept": ["nik"]}, format="json")
    assert unknown.status_code == 400
    kept = api.post(f"{URL}{visit_id}/resolve/", {"accept": [], "note": "Died."}, format="json")
    assert kept.status_code == 200
    assert kept.json()["conflicts"][0]["outcome"] == "server"
    member.refresh_from_db()
    assert member.status == c.MemberStatus.DIED
