"""The programme catalogue: services, access per role, seed data, API and HTML pages."""

import json
from datetime import date
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from interventions import programmes as catalogue
from interventions.evaluation import HouseholdFacts, household_matches
from interventions.models import Programme, ProgrammePeriod, Strategy
from interventions.programmes import (
    ReportPeriod,
    programme_create,
    programme_period_create,
    programme_update,
    quarter_dates,
    report_period,
    semester_dates,
)
from interventions.rules import validate_conditions
from opd.models import Organisation
from povertycase.errors import NotAllowed
from regions.models import Region
from tests.conftest import LEBAK, PANDEGLANG

pytestmark = pytest.mark.django_db

API = "/api/v1/programmes/"
SEED = json.loads(catalogue.PROGRAMMES_JSON.read_text(encoding="utf-8"))


def org(short_name: str) -> Organisation:
    return Organisation.objects.get(short_name=short_name)


def fields(**overrides) -> dict:
    """A valid tier 1 programme of Dinsos Banten, with overrides."""
    data = {
        "code": "TEST",
        "name": "Test programme",
        "owner": org("Dinsos Banten"),
        "tier": 1,
        "needs": ["food"],
        "funding_sources": ["apbn"],
        "strategy": Strategy.REDUCE_BURDEN,
        "unit": "keluarga / bulan",
        "unit_value": 200_000,
        "active_from": date(2025, 1, 1),
    }
    data.update(overrides)
    return data


def make(actor, **overrides) -> Programme:
    return programme_create(actor=actor, **fields(**overrides))


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root", "root@example.org", "x")


@pytest.fixture
def dinsos_programme(province_admin):
    return make(province_admin, code="DINSOS-1")


@pytest.fixture
def dinkes_programme(province_admin):
    return make(
        province_admin, code="DINKES-1", owner=org("Dinkes Banten"), needs=["health"], unit_value=1
    )


def errors_of(call) -> dict:
    with pytest.raises(ValidationError) as info:
        call()
    return info.value.message_dict


# --- services: programmes ---------------------------------------------------------------------


def test_create_writes_a_normalised_programme(province_admin):
    programme = make(
        province_admin,
        code=" pbi-jk ",
        needs=["health", "health"],
        funding_sources=["apbn", "apbd_provinsi"],
        eligibility=[{"field": "ownership", "op": "==", "value": "own"}],
        target_regions=[Region.objects.get(code=LEBAK)],
        active_until="2026-12-31",
    )
    programme.refresh_from_db()
    assert programme.code == "PBI-JK"
    assert programme.needs == ["health"]
    assert programme.funding_sources == ["apbn", "apbd_provinsi"]
    assert programme.active_until == date(2026, 12, 31)
    assert [r.code for r in programme.target_regions.all()] == [LEBAK]
    assert programme.covers("36.02.01.2002")
    assert not programme.covers("36.01.01.2001")
    assert programme.history.first().history_user == province_admin


BAD_PROGRAMMES = [
    ({"needs": ["food", "flying"]}, "needs"),
    ({"needs": []}, "needs"),
    ({"needs": "food"}, "needs"),
    ({"funding_sources": ["apbn", "lottery"]}, "funding_sources"),
    ({"funding_sources": []}, "funding_sources"),
    ({"tier": 1, "needs": ["training"]}, "needs"),
    ({"tier": 3, "needs": ["training"]}, "needs"),
    ({"tier": 2, "needs": ["business"]}, "needs"),
    ({"tier": 4}, "tier"),
    ({"tier": "2"}, "tier"),
    ({"strategy": "make_rich"}, "strategy"),
    ({"unit_value": -1}, "unit_value"),
    ({"unit_value": 1500.5}, "unit_value"),
    ({"unit_value": "1.000.000"}, "unit_value"),
    ({"unit_value": True}, "unit_value"),
    ({"unit_value": None}, "unit_value"),
    ({"unit_value": 2**63}, "unit_value"),
    ({"active_from": date(2026, 1, 1), "active_until": date(2025, 12, 31)}, "active_until"),
    ({"active_from": "2026-13-01"}, "active_from"),
    ({"active_from": None}, "active_from"),
    ({"name": "  "}, "name"),
    ({"unit": ""}, "unit"),
    ({"code": "P K H"}, "code"),
    ({"code": ""}, "code"),
    ({"eligibility": [{"field": "owner", "op": "==", "value": "own"}]}, "eligibility[0].field"),
    (
        {"eligibility": [{"field": "ownership", "op": "==", "value": "castle"}]},
        "eligibility[0].value",
    ),
    ({"eligibility": {"field": "ownership"}}, "eligibility"),
    ({"is_active": "yes"}, "is_active"),
]


@pytest.mark.parametrize(("overrides", "field"), BAD_PROGRAMMES)
def test_create_refuses_bad_input_with_a_field_error(province_admin, overrides, field):
    errors = errors_of(lambda: make(province_admin, **overrides))
    assert field in errors, errors
    assert all(message for message in errors[field])
    assert not Programme.objects.exists()


@pytest.mark.parametrize(("short_name", "word"), [("PT Contoh", "OPD"), ("BRI", "OPD")])
def test_owner_must_be_an_opd(province_admin, short_name, word):
    errors = errors_of(lambda: make(province_admin, owner=org(short_name)))
    assert word in errors["owner"][0]
    errors = errors_of(lambda: make(province_admin, owner=None))
    assert "owner" in errors
    assert not Programme.objects.exists()


def test_whole_province_is_an_empty_target_list(province_admin):
    errors = errors_of(lambda: make(province_admin, target_regions=[Region.objects.get(code="36")]))
    assert "target_regions" in errors


def test_every_error_is_reported_at_once(province_admin):
    errors = errors_of(
        lambda: make(province_admin, needs=["x"], unit_value=-5, funding_sources=[], tier=9)
    )
    assert {"needs", "unit_value", "funding_sources", "tier"} <= set(errors)


def test_duplicate_code_is_a_field_error(province_admin, dinsos_programme):
    errors = errors_of(lambda: make(province_admin, code="dinsos-1"))
    assert "DINSOS-1" in errors["code"][0]
    assert Programme.objects.count() == 1


def test_empowerment_needs_belong_to_their_tier(province_admin):
    assert make(province_admin, code="T2", tier=2, needs=["training"]).needs == ["training"]
    assert make(province_admin, code="T3", tier=3, needs=["business", "food"]).tier == 3


def test_update_changes_only_what_is_given(province_admin, dinsos_programme):
    programme = programme_update(
        actor=province_admin,
        programme=dinsos_programme,
        name="Renamed",
        unit_value=250_000,
        target_regions=[Region.objects.get(code=PANDEGLANG)],
    )
    programme.refresh_from_db()
    assert programme.name == "Renamed"
    assert programme.unit_value == 250_000
    assert programme.needs == ["food"]
    assert [r.code for r in programme.target_regions.all()] == [PANDEGLANG]
    assert programme.history.first().history_user == province_admin


def test_update_checks_the_whole_programme_and_writes_nothing_on_error(
    province_admin, dinsos_programme
):
    before = Programme.objects.values().get(pk=dinsos_programme.pk)
    errors = errors_of(
        lambda: programme_update(
            actor=province_admin,
            programme=dinsos_programme,
            name="Changed",
            needs=["training"],  # the programme is tier 1
            unit_value=-1,
        )
    )
    assert {"needs", "unit_value"} <= set(errors)
    assert Programme.objects.values().get(pk=dinsos_programme.pk) == before
    # food is a basic need: a programme of any tier may meet it
    assert programme_update(actor=province_admin, programme=dinsos_programme, tier=3).tier == 3


def test_update_to_a_tier_that_refuses_the_needs(province_admin):
    programme = make(province_admin, code="BLK", tier=2, needs=["training"])
    errors = errors_of(lambda: programme_update(actor=province_admin, programme=programme, tier=1))
    assert "needs" in errors
    programme.refresh_from_db()
    assert programme.tier == 2


def test_active_dates_must_keep_covering_the_periods(province_admin, dinsos_programme):
    programme_period_create(
        actor=province_admin,
        programme=dinsos_programme,
        name="2026",
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 12, 31),
    )
    errors = errors_of(
        lambda: programme_update(
            actor=province_admin, programme=dinsos_programme, active_until=date(2026, 6, 30)
        )
    )
    assert "2026" in errors["active_until"][0]
    errors = errors_of(
        lambda: programme_update(
            actor=province_admin, programme=dinsos_programme, active_from=date(2026, 2, 1)
        )
    )
    assert "active_from" in errors


# --- services: periods ------------------------------------------------------------------------


def period(actor, programme, **overrides):
    data = {
        "name": "2026",
        "starts_on": date(2026, 1, 1),
        "ends_on": date(2026, 12, 31),
        "quota": 100,
        "budget": 50_000_000,
    }
    data.update(overrides)
    return programme_period_create(actor=actor, programme=programme, **data)


def test_period_create(province_admin, dinsos_programme):
    first = period(province_admin, dinsos_programme, name="2026-S1", ends_on=date(2026, 6, 30))
    second = period(
        province_admin,
        dinsos_programme,
        name="2026-S2",
        starts_on=date(2026, 7, 1),
        quota=None,
        budget=None,
    )
    assert [p.name for p in dinsos_programme.periods.all()] == ["2026-S1", "2026-S2"]
    assert first.quota == 100
    assert second.budget is None
    assert first.history.first().history_user == province_admin


BAD_PERIODS = [
    ({"ends_on": date(2026, 1, 1)}, "ends_on"),
    ({"ends_on": date(2025, 12, 1)}, "ends_on"),
    ({"starts_on": "01/01/2026"}, "starts_on"),
    ({"starts_on": date(2024, 1, 1)}, "starts_on"),  # before the programme is active
    ({"name": ""}, "name"),
    ({"name": "x" * 21}, "name"),
    ({"quota": -1}, "quota"),
    ({"quota": 0}, "quota"),
    ({"quota": 2.5}, "quota"),
    ({"budget": -100}, "budget"),
    ({"budget": 1000.5}, "budget"),
    ({"budget": "1.000"}, "budget"),
]


@pytest.mark.parametrize(("overrides", "field"), BAD_PERIODS)
def test_period_refuses_bad_input(province_admin, dinsos_programme, overrides, field):
    errors = errors_of(lambda: period(province_admin, dinsos_programme, **overrides))
    assert field in errors, errors
    assert not ProgrammePeriod.objects.exists()


def test_period_cannot_end_after_the_programme(province_admin):
    programme = make(province_admin, active_until=date(2026, 6, 30))
    errors = errors_of(lambda: period(province_admin, programme))
    assert "ends_on" in errors


def test_periods_do_not_overlap_and_names_are_unique(province_admin, dinsos_programme):
    period(province_admin, dinsos_programme)
    errors = errors_of(
        lambda: period(
            province_admin,
            dinsos_programme,
            name="2026-Q4",
            starts_on=date(2026, 10, 1),
            ends_on=date(2027, 3, 31),
        )
    )
    assert "2026" in errors["starts_on"][0]
    errors = errors_of(
        lambda: period(
            province_admin, dinsos_programme, starts_on=date(2027, 1, 1), ends_on=date(2027, 12, 31)
        )
    )
    assert "name" in errors
    assert ProgrammePeriod.objects.count() == 1
    # touching ends (31 Dec / 1 Jan) do not overlap; another programme may reuse the name
    period(
        province_admin,
        dinsos_programme,
        name="2027",
        starts_on=date(2027, 1, 1),
        ends_on=date(2027, 12, 31),
    )
    other = make(province_admin, code="OTHER")
    period(province_admin, other)
    assert ProgrammePeriod.objects.count() == 3


# --- access -----------------------------------------------------------------------------------

READERS = [
    "province_admin",
    "district_lebak",
    "field_worker_lebak",
    "opd_officer",
    "csr_partner",
    "auditor",
]


@pytest.mark.parametrize("role", READERS)
def test_the_catalogue_is_read_by_every_role(request, role, dinsos_programme):
    user = request.getfixturevalue(role)
    assert list(catalogue.programmes_visible_to(user)) == [dinsos_programme]


def test_no_role_reads_nothing(no_role_user, dinsos_programme):
    assert not catalogue.programmes_visible_to(no_role_user).exists()
    assert not catalogue.programmes_visible_to(None).exists()


@pytest.mark.parametrize(
    "role", ["district_lebak", "field_worker_lebak", "opd_officer", "csr_partner", "auditor"]
)
def test_only_provincial_admins_add_programmes(request, role):
    user = request.getfixturevalue(role)
    with pytest.raises(NotAllowed):
        make(user)
    assert not Programme.objects.exists()


def test_superuser_adds_programmes(superuser):
    assert make(superuser).code == "TEST"


@pytest.mark.parametrize("role", ["district_lebak", "field_worker_lebak", "csr_partner", "auditor"])
def test_readers_cannot_edit(request, role, dinsos_programme):
    user = request.getfixturevalue(role)
    with pytest.raises(NotAllowed):
        programme_update(actor=user, programme=dinsos_programme, name="X")
    with pytest.raises(NotAllowed):
        period(user, dinsos_programme)
    dinsos_programme.refresh_from_db()
    assert dinsos_programme.name == "Test programme"


def test_opd_officer_edits_only_their_agencys_programmes(
    opd_officer, dinkes_programme, dinsos_programme
):
    saved = programme_update(actor=opd_officer, programme=dinkes_programme, unit_value=42_000)
    assert saved.unit_value == 42_000
    assert period(opd_officer, dinkes_programme).programme == dinkes_programme
    with pytest.raises(NotAllowed):
        programme_update(actor=opd_officer, programme=dinsos_programme, name="Mine now")
    with pytest.raises(NotAllowed):
        period(opd_officer, dinsos_programme)
    # nor can they give their programme away
    errors = errors_of(
        lambda: programme_update(
            actor=opd_officer, programme=dinkes_programme, owner=org("Dinsos Banten")
        )
    )
    assert "owner" in errors
    dinkes_programme.refresh_from_db()
    assert dinkes_programme.owner.short_name == "Dinkes Banten"


# --- pure helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "semester", "quarter"),
    [
        (date(2026, 1, 1), 1, 1),
        (date(2026, 3, 31), 1, 1),
        (date(2026, 4, 1), 1, 2),
        (date(2026, 6, 30), 1, 2),
        (date(2026, 7, 1), 2, 3),
        (date(2026, 9, 30), 2, 3),
        (date(2026, 10, 1), 2, 4),
        (date(2026, 12, 31), 2, 4),
    ],
)
def test_report_period(day, semester, quarter):
    result = report_period(day)
    assert result == ReportPeriod(2026, semester, quarter)
    assert result.semester_label == f"2026-S{semester}"
    assert result.quarter_label == f"2026-Q{quarter}"
    first, last = semester_dates(2026, semester)
    assert first <= day <= last
    first, last = quarter_dates(2026, quarter)
    assert first <= day <= last


def test_report_period_bounds():
    assert semester_dates(2026, 2) == (date(2026, 7, 1), date(2026, 12, 31))
    assert quarter_dates(2024, 1) == (date(2024, 1, 1), date(2024, 3, 31))
    with pytest.raises(ValueError):
        quarter_dates(2026, 5)


def test_validate_conditions_and_household_matches():
    conditions = validate_conditions(
        [
            {"field": "ownership", "op": "==", "value": "own"},
            {"field": "members", "op": "any_member", "age_min": 15, "age_max": 64, "value": None},
        ]
    )
    owner = HouseholdFacts.from_dicts({"ownership": "own"}, [{"age": 30}], date(2026, 1, 1))
    renter = HouseholdFacts.from_dicts({"ownership": "rent"}, [{"age": 30}], date(2026, 1, 1))
    elderly = HouseholdFacts.from_dicts({"ownership": "own"}, [{"age": 80}], date(2026, 1, 1))
    unknown = HouseholdFacts.from_dicts({}, [{"age": 30}], date(2026, 1, 1))
    assert household_matches(owner, conditions)
    assert not household_matches(renter, conditions)
    assert not household_matches(elderly, conditions)
    assert not household_matches(unknown, conditions)
    assert household_matches(renter, [])
    with pytest.raises(ValidationError) as info:
        validate_conditions([{"field": "age", "op": ">", "value": 5}])
    assert "[0].field" in info.value.message_dict


# --- seed data --------------------------------------------------------------------------------


def load() -> str:
    out = StringIO()
    call_command("load_programmes", stdout=out)
    return out.getvalue()


def test_load_programmes_is_idempotent_and_never_overwrites(province_admin):
    first = load()
    assert f"{len(SEED)} created with {len(SEED)} periods" in first
    pkh = Programme.objects.get(code="PKH")
    programme_update(actor=province_admin, programme=pkh, unit_value=1)
    second = load()
    assert "0 created with 0 periods" in second
    assert Programme.objects.count() == len(SEED)
    assert ProgrammePeriod.objects.count() == len(SEED)
    assert Programme.objects.get(code="PKH").unit_value == 1


def test_every_seeded_programme_is_valid_and_real():
    load()
    programmes = {p.code: p for p in Programme.objects.select_related("owner")}
    assert set(programmes) == {entry["code"] for entry in SEED}
    for programme in programmes.values():
        assert programme.owner.kind == "opd"
        assert programme.strategy in Strategy.values
        assert programme.funding_sources
        assert programme.source_note
        assert "ilustrasi" in programme.source_note  # the demo-figures caveat, in Indonesian
        assert programme.periods.get().name == "2026"
        # the stored programme passes the services' checks again, unchanged
        saved = programme_update(
            actor=get_user_model().objects.create_superuser(f"su-{programme.code}", "", "x"),
            programme=programme,
        )
        assert saved.needs == programme.needs
    expected = {
        "PKH": ("Dinsos Banten", 1, ["health", "education"], 900_000),
        "BPNT": ("Dinsos Banten", 1, ["food"], 200_000),
        "PBI-JK": ("Dinkes Banten", 1, ["health"], 42_000),
        "PIP": ("Dindikbud Banten", 1, ["education"], 450_000),
        "RTLH": ("DPRKP Banten", 1, ["housing"], 20_000_000),
        "JAMSOSRATU": ("Dinsos Banten", 1, ["health", "education"], 1_750_000),
        "PENA": ("Dinsos Banten", 2, ["training"], 6_000_000),
        "KUBE": ("Dinkop UKM Banten", 3, ["business"], 2_000_000),
    }
    for code, (owner, tier, needs, value) in expected.items():
        p = programmes[code]
        assert (p.owner.short_name, p.tier, p.needs, p.unit_value) == (owner, tier, needs, value)
    assert programmes["RTLH"].eligibility == [{"field": "ownership", "op": "==", "value": "own"}]
    assert programmes["PBI-D"].funding_sources == ["apbd_provinsi"]
    covered = {n for p in programmes.values() for n in p.needs}
    assert covered == set(catalogue.PROGRAMME_NEEDS)


def test_a_broken_file_loads_nothing(tmp_path):
    broken = [dict(SEED[0]), {**SEED[1], "needs": ["flying"], "unit_value": -5}]
    path = tmp_path / "programmes.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    with pytest.raises(CommandError) as info:
        call_command("load_programmes", "--file", str(path), stdout=StringIO())
    assert "BPNT.needs" in str(info.value)
    assert "BPNT.unit_value" in str(info.value)
    assert not Programme.objects.exists()
    path.write_text(json.dumps([{**SEED[0], "owner": "Dinas Fiktif"}]), encoding="utf-8")
    with pytest.raises(CommandError, match=r"PKH\.owner"):
        call_command("load_programmes", "--file", str(path), stdout=StringIO())
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(CommandError, match="JSON list"):
        call_command("load_programmes", "--file", str(path), stdout=StringIO())


# --- API --------------------------------------------------------------------------------------


def as_user(api, user):
    api.force_login(user)
    return api


def api_body(**overrides) -> dict:
    body = {
        "code": "API-1",
        "name": "Through the API",
        "owner": "Dinkes Banten",
        "tier": 1,
        "needs": ["health"],
        "funding_sources": ["apbd_provinsi"],
        "strategy": "reduce_burden",
        "unit": "jiwa / bulan",
        "unit_value": 42000,
        "active_from": "2025-01-01",
        "target_regions": [LEBAK],
        "eligibility": [{"field": "ownership", "op": "==", "value": "own"}],
    }
    body.update(overrides)
    return body


@pytest.mark.parametrize("role", READERS)
def test_api_list_for_every_reader(api, request, role, dinsos_programme):
    response = as_user(api, request.getfixturevalue(role)).get(API)
    assert response.status_code == 200
    row = response.json()["results"][0]
    assert row["code"] == "DINSOS-1"
    assert row["owner"] == "Dinsos Banten"
    assert "periods" not in row  # lean rows


def test_api_refuses_users_without_a_role(api, no_role_user, dinsos_programme):
    assert as_user(api, no_role_user).get(API).status_code == 403
    api.logout()
    anonymous = api.get(API)
    assert anonymous.status_code == 401  # not logged in: say how to authenticate
    assert anonymous["WWW-Authenticate"] == "Token"


def test_api_filters(api, csr_partner, province_admin):
    load()
    api = as_user(api, csr_partner)

    def codes(**params):
        response = api.get(API, {"page_size": 100, **params})
        assert response.status_code == 200, response.content
        return {row["code"] for row in response.json()["results"]}

    assert codes(need="housing") == {"RTLH"}
    assert codes(need="water") == {"SPAM"}
    assert codes(tier=3) == {"KUBE"}
    assert codes(tier=2) == {"BLK", "KWU", "PENA"}
    assert codes(owner="Dinkes Banten") == {"PBI-JK", "PBI-D", "STBM"}
    assert codes(funding_source="apbd_kabupaten") == set()
    assert "JAMSOSRATU" in codes(funding_source="apbd_provinsi")
    assert "PKH" not in codes(funding_source="apbd_provinsi")
    assert codes(strategy="raise_income") == {"BLK", "KWU", "PENA", "KUBE"}
    assert codes(q="sembako") == {"BPNT"}
    programme_update(
        actor=province_admin, programme=Programme.objects.get(code="PKH"), is_active=False
    )
    assert "PKH" not in codes(active="true")
    assert codes(active="false") == {"PKH"}
    assert api.get(API, {"tier": 7}).status_code == 400
    assert api.get(API, {"need": "flying"}).status_code == 400


def test_api_detail_has_everything_in_words(api, csr_partner):
    load()
    response = as_user(api, csr_partner).get(f"{API}RTLH/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    body = response.json()
    assert body["owner"] == "DPRKP Banten"
    assert body["needs_labels"] == ["Decent housing"]
    assert body["unit_value_text"] == "Rp 20.000.000"
    assert body["strategy"] == "reduce_pockets"
    assert body["eligibility_text"] == ["house ownership is own"]
    assert body["periods"][0]["name"] == "2026"
    assert body["periods"][0]["quota"] == 300
    assert body["target_regions"] == []
    assert api.get(f"{API}NOPE/").status_code == 404


def test_api_create_and_patch(api, province_admin):
    response = as_user(api, province_admin).post(API, api_body(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["code"] == "API-1"
    assert body["target_regions"] == [LEBAK]
    assert body["periods"] == []
    programme = Programme.objects.get(code="API-1")
    assert programme.owner.short_name == "Dinkes Banten"

    response = api.patch(f"{API}API-1/", {"unit_value": 50000, "code": "X"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["unit_value"] == 50000
    assert response.json()["code"] == "API-1"  # the code never changes
    assert api.put(f"{API}API-1/", api_body(), format="json").status_code == 405

    response = api.post(
        f"{API}API-1/periods/",
        {"name": "2026", "starts_on": "2026-01-01", "ends_on": "2026-12-31", "budget": 1000},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json() == {
        "name": "2026",
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
        "quota": None,
        "budget": 1000,
    }
    response = api.post(
        f"{API}API-1/periods/",
        {"name": "2026-b", "starts_on": "2026-06-01", "ends_on": "2027-05-31"},
        format="json",
    )
    assert response.status_code == 400
    assert "starts_on" in response.json()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"needs": ["food", "flying"]}, "needs"),
        ({"tier": 1, "needs": ["training"]}, "needs"),
        ({"funding_sources": ["lottery"]}, "funding_sources"),
        ({"unit_value": -1}, "unit_value"),
        ({"unit_value": 1500.5}, "unit_value"),
        ({"unit_value": "1.000"}, "unit_value"),
        ({"owner": "PT Contoh"}, "owner"),
        ({"owner": "Nobody"}, "owner"),
        ({"active_until": "2024-01-01"}, "active_until"),
        ({"active_from": "someday"}, "active_from"),
        ({"strategy": "x"}, "strategy"),
        ({"target_regions": ["99.99"]}, "target_regions"),
        ({"eligibility": [{"field": "x", "op": "==", "value": 1}]}, "eligibility[0].field"),
        ({"code": "bad code!"}, "code"),
    ],
)
def test_api_create_refuses_bad_input_with_400(api, province_admin, overrides, field):
    response = as_user(api, province_admin).post(API, api_body(**overrides), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not Programme.objects.exists()


@pytest.mark.parametrize(
    "role", ["district_lebak", "field_worker_lebak", "opd_officer", "csr_partner", "auditor"]
)
def test_api_create_is_for_provincial_admins(api, request, role):
    response = as_user(api, request.getfixturevalue(role)).post(API, api_body(), format="json")
    assert response.status_code == 403
    assert not Programme.objects.exists()


def test_api_patch_per_role(
    api, opd_officer, field_worker_lebak, csr_partner, dinkes_programme, dinsos_programme
):
    as_user(api, opd_officer)
    response = api.patch(f"{API}DINKES-1/", {"name": "Own"}, format="json")
    assert response.status_code == 200
    assert api.patch(f"{API}DINSOS-1/", {"name": "Other"}, format="json").status_code == 403
    period_body = {"name": "2026", "starts_on": "2026-01-01", "ends_on": "2026-12-31"}
    assert api.post(f"{API}DINSOS-1/periods/", period_body, format="json").status_code == 403
    assert api.post(f"{API}DINKES-1/periods/", period_body, format="json").status_code == 201
    response = api.patch(f"{API}DINKES-1/", {"owner": "Dinsos Banten"}, format="json")
    assert response.status_code == 400
    assert "owner" in response.json()
    for user in (field_worker_lebak, csr_partner):
        as_user(api, user)
        assert api.patch(f"{API}DINKES-1/", {"name": "X"}, format="json").status_code == 403
    assert Programme.objects.get(code="DINSOS-1").name == "Test programme"


def _bulk(actor, start: int, count: int) -> None:
    for n in range(start, start + count):
        programme = make(
            actor,
            code=f"BULK-{n}",
            target_regions=[Region.objects.get(code=LEBAK)] if n % 2 else [],
        )
        period(actor, programme)


def test_api_list_runs_a_constant_number_of_queries(api, csr_partner, province_admin):
    _bulk(province_admin, 0, 3)
    as_user(api, csr_partner).get(API)  # warm the session and the access cache

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = api.get(API)
        assert response.status_code == 200
        return len(ctx)

    few = queries()
    _bulk(province_admin, 3, 9)
    assert api.get(API).json()["count"] == 12
    assert queries() == few


# --- HTML -------------------------------------------------------------------------------------


def test_catalogue_page_for_readers(client, csr_partner, no_role_user):
    load()
    client.force_login(csr_partner)
    response = client.get(reverse("programmes:list"), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = response.content.decode()
    for code in ("PKH", "BPNT", "KUBE", "RTLH"):
        assert code in page
    assert "Rp 20.000.000" in page
    assert "Add programme" not in page  # CSR partners only read
    client.force_login(no_role_user)
    assert client.get(reverse("programmes:list")).status_code == 403


def test_catalogue_filters_and_htmx_partial(client, opd_officer):
    load()
    client.force_login(opd_officer)
    url = reverse("programmes:list")
    page = client.get(url, {"tier": 3}).content.decode()
    assert "KUBE" in page
    assert "PKH" not in page
    response = client.get(url, {"need": "housing"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assert "RTLH" in response.content.decode()
    assert client.get(url, {"tier": "nine", "owner": "?"}).status_code == 200


def test_catalogue_page_runs_a_constant_number_of_queries(client, csr_partner, province_admin):
    _bulk(province_admin, 0, 3)
    client.force_login(csr_partner)
    url = reverse("programmes:list")
    client.get(url)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200
        return len(ctx)

    few = queries()
    _bulk(province_admin, 3, 9)
    assert queries() == few


def test_detail_page_shows_everything_in_words(client, auditor):
    load()
    client.force_login(auditor)
    response = client.get(reverse("programmes:detail", args=["PKH"]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Program Keluarga Harapan" in page
    assert "Dinas Sosial Provinsi Banten" in page
    assert "Health" in page
    assert "Education" in page
    assert "Rp 900.000" in page
    assert "Rp 180.000.000.000" in page  # the 2026 budget
    assert "60.000" in page  # the 2026 quota
    assert "Whole province" in page
    assert "Reduce the expenditure burden" in page
    assert "Edit" not in page  # auditors read only
    page = client.get(reverse("programmes:detail", args=["RTLH"]), HTTP_ACCEPT_LANGUAGE="en")
    assert "house ownership is own" in page.content.decode()
    assert client.get(reverse("programmes:detail", args=["NOPE"])).status_code == 404


def form_data(**overrides) -> dict:
    data = {
        "code": "HTML-1",
        "name": "Through the page",
        "owner": org("DKP Banten").pk,
        "tier": "1",
        "strategy": "reduce_burden",
        "needs": ["food"],
        "funding_sources": ["apbd_provinsi"],
        "unit": "keluarga / bulan",
        "unit_value": "150000",
        "active_from": "2025-01-01",
        "active_until": "",
        "is_active": "on",
        "target_regions": [Region.objects.get(code=LEBAK).pk],
        "eligibility": '[{"field": "meals_per_day", "op": "<", "value": 2}]',
        "description": "",
        "source_note": "Illustrative.",
    }
    data.update(overrides)
    return data


def test_admin_adds_a_programme_through_the_page(client, province_admin):
    client.force_login(province_admin)
    url = reverse("programmes:create")
    assert client.get(url).status_code == 200
    response = client.post(url, form_data())
    assert response.status_code == 302
    programme = Programme.objects.get(code="HTML-1")
    assert response.url == reverse("programmes:detail", args=["HTML-1"])
    assert programme.owner.short_name == "DKP Banten"
    assert programme.eligibility == [{"field": "meals_per_day", "op": "<", "value": 2}]
    assert [r.code for r in programme.target_regions.all()] == [LEBAK]


@pytest.mark.parametrize(
    ("overrides", "field", "text"),
    [
        ({"needs": ["training"]}, "needs", "tier 2"),
        ({"unit_value": "-5"}, "unit_value", "negative"),
        ({"unit_value": "1.5"}, "unit_value", "whole rupiah"),
        ({"funding_sources": []}, "funding_sources", "funding source"),
        ({"active_until": "2024-12-31"}, "active_until", "before"),
        ({"eligibility": "[{"}, "eligibility", "JSON"),
        ({"eligibility": '[{"field": "x", "op": "==", "value": 1}]'}, "eligibility", "[0].field"),
        ({"owner": ""}, "owner", "required"),
    ],
)
def test_page_shows_errors_inline_and_writes_nothing(
    client, province_admin, overrides, field, text
):
    client.force_login(province_admin)
    response = client.post(
        reverse("programmes:create"), form_data(**overrides), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert text in " ".join(errors[field])
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not Programme.objects.exists()


def test_page_shows_the_owner_must_be_an_opd(client, province_admin):
    client.force_login(province_admin)
    response = client.post(reverse("programmes:create"), form_data(owner=org("BRI").pk))
    assert response.status_code == 200
    assert "owner" in response.context["form"].errors  # not even offered
    assert not Programme.objects.exists()


@pytest.mark.parametrize(
    "role", ["district_lebak", "field_worker_lebak", "opd_officer", "csr_partner", "auditor"]
)
def test_add_page_is_for_provincial_admins(client, request, role):
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("programmes:create")).status_code == 403
    assert client.post(reverse("programmes:create"), form_data()).status_code == 403
    assert not Programme.objects.exists()


def test_opd_officer_edits_own_programme_through_the_page(
    client, opd_officer, dinkes_programme, dinsos_programme
):
    client.force_login(opd_officer)
    url = reverse("programmes:edit", args=["DINKES-1"])
    response = client.get(url)
    assert response.status_code == 200
    owners = list(response.context["form"].fields["owner"].queryset)
    assert owners == [dinkes_programme.owner]  # an officer cannot give it away
    data = form_data(
        owner=dinkes_programme.owner.pk,
        needs=["health"],
        name="Renamed by Dinkes",
        target_regions=[],
        eligibility="",
    )
    response = client.post(url, data)
    assert response.status_code == 302
    dinkes_programme.refresh_from_db()
    assert dinkes_programme.name == "Renamed by Dinkes"
    assert dinkes_programme.code == "DINKES-1"
    assert dinkes_programme.eligibility == []
    detail = client.get(reverse("programmes:detail", args=["DINKES-1"])).content.decode()
    assert reverse("programmes:edit", args=["DINKES-1"]) in detail
    detail = client.get(reverse("programmes:detail", args=["DINSOS-1"])).content.decode()
    assert reverse("programmes:edit", args=["DINSOS-1"]) not in detail
    other = reverse("programmes:edit", args=["DINSOS-1"])
    assert client.get(other).status_code == 403
    assert client.post(other, data).status_code == 403


def test_field_worker_cannot_edit(client, field_worker_lebak, dinsos_programme):
    client.force_login(field_worker_lebak)
    assert client.get(reverse("programmes:detail", args=["DINSOS-1"])).status_code == 200
    assert client.get(reverse("programmes:edit", args=["DINSOS-1"])).status_code == 403
    url = reverse("programmes:period_create", args=["DINSOS-1"])
    assert client.post(url, {"name": "2026"}).status_code == 403


def test_edit_errors_write_nothing(client, province_admin, dinsos_programme):
    client.force_login(province_admin)
    url = reverse("programmes:edit", args=["DINSOS-1"])
    data = form_data(owner=dinsos_programme.owner.pk, name="Changed", tier="2")  # food is fine
    data["needs"] = ["food", "business"]  # business is for tier 3
    response = client.post(url, data)
    assert response.status_code == 200
    assert "needs" in response.context["form"].errors
    dinsos_programme.refresh_from_db()
    assert dinsos_programme.name == "Test programme"


def test_period_page(client, province_admin, dinsos_programme):
    client.force_login(province_admin)
    url = reverse("programmes:period_create", args=["DINSOS-1"])
    assert client.get(url).status_code == 200
    data = {
        "name": "2026",
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
        "quota": "500",
        "budget": "",
    }
    response = client.post(url, data)
    assert response.status_code == 302
    created = dinsos_programme.periods.get()
    assert (created.quota, created.budget) == (500, None)
    response = client.post(
        url, {**data, "name": "2026-b", "quota": "-3"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "starts_on" in errors  # overlaps 2026
    assert "quota" in errors
    assert dinsos_programme.periods.count() == 1
    page = client.get(reverse("programmes:detail", args=["DINSOS-1"]), HTTP_ACCEPT_LANGUAGE="en")
    assert "no limit" in page.content.decode()


def test_navbar_link(client, opd_officer, csr_partner, field_worker_lebak):
    link = f'<a class="dropdown-item" href="{reverse("programmes:list")}">'
    for user, shown in ((opd_officer, True), (field_worker_lebak, True), (csr_partner, False)):
        client.force_login(user)
        page = client.get(reverse("programmes:list")).content.decode()
        assert (link in page) is shown, user


def test_admin_pages_open(client, superuser):
    load()
    client.force_login(superuser)
    pkh = Programme.objects.get(code="PKH")
    for name, args in (
        ("admin:interventions_programme_changelist", []),
        ("admin:interventions_programme_change", [pkh.pk]),
        ("admin:interventions_programme_history", [pkh.pk]),
        ("admin:interventions_programmeperiod_changelist", []),
    ):
        assert client.get(reverse(name, args=args)).status_code == 200, name


def test_schema_documents_the_catalogue(client):
    paths = client.get(reverse("api-schema"), {"format": "json"}).json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/programmes/"])
    assert {"get", "patch"} <= set(paths["/api/v1/programmes/{code}/"])
    assert "post" in paths["/api/v1/programmes/{code}/periods/"]
    names = {p["name"] for p in paths["/api/v1/programmes/"]["get"]["parameters"]}
    assert {"owner", "tier", "need", "strategy", "funding_source", "active"} <= names
