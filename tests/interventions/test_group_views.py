"""Tier 3 pages: groups, KUR board and detail, graduations, follow-ups."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from interventions import groups, kur
from interventions.models import (
    FollowUp,
    Graduation,
    GroupMembership,
    GroupStatusChange,
    KurApplication,
    KurStatusChange,
)

from .tier3 import (  # noqa: F401
    bank,
    bank_officer,
    clock,
    disbursed_loan,
    make_group,
    scheme,
    tier2_person,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def group(desa_lebak, field_worker_lebak):
    return make_group(field_worker_lebak, desa_lebak)


@pytest.fixture
def loan(group, field_worker_lebak):
    return disbursed_loan(group, field_worker_lebak, amount=3_000_000, tenor=3)[0]


def get(client, name, *args, **query):
    url = reverse(f"groups:{name}", args=args)
    return client.get(url, query, HTTP_ACCEPT_LANGUAGE="en")


def test_pages_open_for_the_field_worker(client, field_worker_lebak, group, loan):
    groups.business_record_save(
        actor=field_worker_lebak, group=group, month=timezone.localdate(), revenue=5_000_000,
        costs=3_000_000, profit_per_member=200_000,
    )  # fmt: skip
    client.force_login(field_worker_lebak)
    page = get(client, "detail", group.pk)
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html
    assert "Rp 5.000.000" in html
    assert group.memberships.first().member.name in html
    assert get(client, "list").status_code == 200
    assert get(client, "kur_board", bank="BRI", region="36.02").status_code == 200
    detail = get(client, "kur_detail", loan.pk)
    assert detail.status_code == 200
    assert "Rp 1.007.500" in detail.content.decode()  # 1.000.000 principal + 7.500 interest
    assert get(client, "graduations").status_code == 200
    assert get(client, "follow_ups").status_code == 200
    assert get(client, "create").status_code == 200
    assert get(client, "kur_create", group=group.pk).status_code == 200


def test_adding_a_member_of_another_group_shows_the_message(
    client, field_worker_lebak, desa_lebak, group
):
    other = make_group(field_worker_lebak, desa_lebak, name="UMKM Dua", activate=False)
    person = group.memberships.first().member
    client.force_login(field_worker_lebak)
    before = GroupMembership.objects.count()
    response = client.post(
        reverse("groups:member_add", args=[other.pk]), {"member": person.pk, "role": "member"}
    )
    assert response.status_code == 200
    assert "already a member of the group" in response.content.decode()
    assert GroupMembership.objects.count() == before


def test_activation_below_minimum_is_shown_on_the_form(client, field_worker_lebak, desa_lebak):
    small = make_group(field_worker_lebak, desa_lebak, members=3, activate=False)
    client.force_login(field_worker_lebak)
    response = client.post(reverse("groups:status", args=[small.pk]), {"to_status": "active"})
    assert response.status_code == 200
    assert "it needs at least 5 to become active" in response.content.decode()


def test_kur_form_refuses_an_amount_over_the_ceiling(client, field_worker_lebak, group):
    client.force_login(field_worker_lebak)
    response = client.post(
        reverse("groups:kur_create") + f"?group={group.pk}",
        {"scheme": scheme().pk, "bank": bank().pk, "amount": 20_000_000, "tenor_months": 12,
         "purpose": "Modal"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "is above the ceiling of KUR Super Mikro" in response.content.decode()
    assert not KurApplication.objects.exists()


def test_repayment_page_refuses_before_disbursement(client, field_worker_lebak, group):
    application = kur.kur_application_create(
        actor=field_worker_lebak, group=group, scheme=scheme(), bank=bank(), amount=1_000_000,
        tenor_months=2, purpose="Modal",
    )  # fmt: skip
    client.force_login(field_worker_lebak)
    response = client.post(
        reverse("groups:kur_repay", args=[application.pk]),
        {"paid_on": "2026-12-01", "amount": 10_000},
    )
    assert response.status_code == 200
    assert "only be recorded on a disbursed loan" in response.content.decode()


@pytest.mark.parametrize("fixture", ["district_pandeglang"])
def test_another_areas_user_gets_404(client, request, group, loan, fixture):
    client.force_login(request.getfixturevalue(fixture))
    assert get(client, "detail", group.pk).status_code == 404
    assert get(client, "kur_detail", loan.pk).status_code == 404
    assert client.post(reverse("groups:status", args=[group.pk]), {}).status_code == 404


def test_another_banks_officer_gets_404(client, group, loan):
    client.force_login(bank_officer("BNI"))
    assert get(client, "kur_detail", loan.pk).status_code == 404
    assert get(client, "detail", group.pk).status_code == 404
    board = get(client, "kur_board")
    assert board.status_code == 200
    assert f"#{loan.pk} ·" not in board.content.decode()
    assert get(client, "graduations").status_code == 403
    client.force_login(bank_officer("BRI"))
    assert get(client, "kur_detail", loan.pk).status_code == 200


def test_csr_partner_gets_403(client, csr_partner, group):
    client.force_login(csr_partner)
    assert get(client, "list").status_code == 403
    assert get(client, "detail", group.pk).status_code == 403


def test_resolving_a_follow_up_from_the_list(client, field_worker_lebak, group):
    household = group.memberships.first().member.household
    follow_up = FollowUp.objects.create(
        household=household, kind="arrears", raised_at="2026-01-01T00:00Z"
    )
    client.force_login(field_worker_lebak)
    response = client.post(reverse("groups:resolve", args=[follow_up.pk]), {"note": "Visited"})
    assert response.status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.resolution == "Visited"
    assert follow_up.resolved_by == field_worker_lebak


def test_lists_use_a_constant_number_of_queries(
    client, field_worker_lebak, desa_lebak, group, loan, django_assert_max_num_queries
):
    second = make_group(field_worker_lebak, desa_lebak, name="KUBE Dua")
    for g in (group, second):
        household = g.memberships.first().member.household
        Graduation.objects.create(
            household=household, graduated_on="2026-01-01", monitoring_until="2027-01-01"
        )
        FollowUp.objects.create(household=household, kind="arrears", raised_at="2026-01-01T00:00Z")
    tier2_person(desa_lebak)
    client.force_login(field_worker_lebak)
    # session, user, memberships, count, page rows, plus one per select of the filters (and
    # the board's kabupaten/kota names): never one per row
    for name, most in (("list", 8), ("kur_board", 10), ("graduations", 7), ("follow_ups", 7)):
        with django_assert_max_num_queries(most):
            assert get(client, name).status_code == 200, name


def test_the_board_per_bank_and_per_kabupaten(client, province_admin, loan):
    client.force_login(province_admin)
    lebak = get(client, "kur_board", district="36.02").content.decode()
    assert f"#{loan.pk} ·" in lebak
    assert "Kabupaten Lebak" in lebak
    assert f"#{loan.pk} ·" not in get(client, "kur_board", district="36.01").content.decode()
    assert f"#{loan.pk} ·" not in get(client, "kur_board", bank="BNI").content.decode()
    assert f"#{loan.pk} ·" in get(client, "kur_board", bank="BRI").content.decode()


def test_the_household_page_shows_its_group_loan_and_follow_ups(
    client, field_worker_lebak, group, loan
):
    household = group.memberships.first().member.household
    FollowUp.objects.create(household=household, kind="arrears", raised_at="2026-01-01T00:00Z")
    client.force_login(field_worker_lebak)
    page = client.get(reverse("interventions:household", args=[household.pk])).content.decode()
    assert group.name in page
    assert f"KUR #{loan.pk}" in page
    assert "1 open follow-up" in page


def test_the_move_form_offers_only_the_users_moves(client, field_worker_lebak, loan):
    client.force_login(field_worker_lebak)
    page = get(client, "kur_detail", loan.pk).content.decode()
    assert 'value="in_arrears"' not in page  # the bank's move, not the field worker's
    client.force_login(bank_officer("BRI"))
    page = get(client, "kur_detail", loan.pk).content.decode()
    assert 'value="in_arrears"' in page


def test_a_group_without_a_facilitator_opens(client, province_admin, group):
    type(group).objects.filter(pk=group.pk).update(facilitator=None)
    client.force_login(province_admin)
    page = get(client, "detail", group.pk)
    assert page.status_code == 200
    assert "Facilitator" in page.content.decode()


# --- move forms: nothing chosen at first, the reason marked as the service needs it ----------

STAR = '<span class="text-danger" aria-hidden="true">*</span>'


def options(html: str, name: str) -> list[str]:
    """The options of the select `name`, as rendered."""
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    return re.findall(r"<option[^>]*>[^<]*</option>", select.group(1))


def label(html: str, field: str) -> str:
    return re.search(rf'<label[^>]*for="id_{field}">(.*?)</label>', html, re.S).group(1)


def error(html: str, field: str) -> str:
    return re.search(rf'id="id_{field}_error">([^<]*)<', html).group(1)


def test_the_kur_move_select_starts_blank_and_says_when_a_note_is_needed(client, loan):
    client.force_login(bank_officer("BRI"))
    page = get(client, "kur_detail", loan.pk).content.decode()
    assert options(page, "to_status") == [
        '<option value="" selected>Choose…</option>',
        '<option value="repaying">Repaying</option>',
        '<option value="in_arrears">In arrears</option>',
        '<option value="repaid">Repaid</option>',
    ]
    assert STAR in label(page, "to_status")
    assert STAR not in label(page, "note")  # repaying and repaid need none
    assert 'id="id_note_helptext">Required for: In arrears.<' in page


def test_an_empty_kur_move_is_refused_next_to_the_field(client, loan):
    client.force_login(bank_officer("BRI"))
    before = KurStatusChange.objects.count()
    response = client.post(reverse("groups:kur_move", args=[loan.pk]), {"to_status": ""})
    assert response.status_code == 200
    assert error(response.content.decode(), "to_status") == "This field is required."
    assert KurStatusChange.objects.count() == before
    loan.refresh_from_db()
    assert loan.status == "disbursed"


def test_a_kur_move_into_arrears_needs_arrears_and_a_note_on_the_page(
    client,
    loan,
    clock,  # noqa: F811
):
    client.force_login(bank_officer("BRI"))
    url = reverse("groups:kur_move", args=[loan.pk])
    before = KurStatusChange.objects.count()
    response = client.post(url, {"to_status": "in_arrears", "note": "Late"})
    assert response.status_code == 200
    assert (
        error(response.content.decode(), "to_status")
        == "The loan cannot be in arrears: nothing due by today is unpaid."
    )
    clock.at(40)  # the first instalment is due and unpaid
    client.force_login(bank_officer("BRI"))  # the session of 40 days ago has expired
    response = client.post(url, {"to_status": "in_arrears"})
    assert response.status_code == 200
    html = response.content.decode()
    assert error(html, "note") == "Give a reason."
    assert 'id="id_note_helptext">Required for: In arrears.<' in html  # still said
    assert KurStatusChange.objects.count() == before
    loan.refresh_from_db()
    assert loan.status == "disbursed"
    assert client.post(url, {"to_status": "in_arrears", "note": "Late"}).status_code == 302
    loan.refresh_from_db()
    assert loan.status == "in_arrears"


def test_the_group_status_select_starts_blank_and_marks_the_reason(
    client, field_worker_lebak, desa_lebak, group
):
    client.force_login(field_worker_lebak)
    page = get(client, "detail", group.pk).content.decode()
    assert options(page, "to_status") == [
        '<option value="" selected>Choose…</option>',
        '<option value="dormant">Dormant</option>',
        '<option value="dissolved">Dissolved</option>',
    ]
    assert STAR in label(page, "reason")  # both moves of an active group need one
    forming = make_group(field_worker_lebak, desa_lebak, members=0, activate=False)
    page = get(client, "detail", forming.pk).content.decode()
    assert [o.split('"')[1] for o in options(page, "to_status")] == ["", "active", "dissolved"]
    assert STAR not in label(page, "reason")  # becoming active needs none
    assert 'id="id_reason_helptext">Required for: Dissolved.<' in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"to_status": "", "reason": ""}, "to_status", "This field is required."),
        ({"to_status": "dormant", "reason": " "}, "reason", "Give a reason."),
    ],
)
def test_a_refused_group_status_change_is_shown_next_to_the_field(
    client, field_worker_lebak, group, data, field, message
):
    client.force_login(field_worker_lebak)
    before = GroupStatusChange.objects.count()
    response = client.post(reverse("groups:status", args=[group.pk]), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert error(html, field) == message
    assert STAR in label(html, "reason")  # still marked on the form shown again
    assert GroupStatusChange.objects.count() == before
    group.refresh_from_db()
    assert group.status == "active"


# --- phones and names ------------------------------------------------------------------------


def wrapper(html: str, text: str) -> str:
    """The tag just before the table that contains `text`."""
    for match in re.finditer(r"(<[^>]+>)\s*<table\b.*?</table>", html, re.S):
        if text in match.group(0):
            return match.group(1)
    raise AssertionError(f"no table with {text!r}")


def test_wide_tables_scroll_on_a_phone(client, province_admin, group, loan):
    client.force_login(province_admin)
    page = get(client, "detail", group.pk).content.decode()
    assert wrapper(page, "Paid back") == '<div class="table-responsive">'
    tables = re.findall(r"(<[^>]+>)\s*<table\b", page)
    assert len(tables) == 3  # members, business records, loans
    assert set(tables) == {'<div class="table-responsive">'}
    application = get(client, "kur_detail", loan.pk).content.decode()
    tables = re.findall(r"(<[^>]+>)\s*<table\b", application)
    assert tables
    assert set(tables) == {'<div class="table-responsive">'}
    board = get(client, "kur_board").content.decode()
    assert "Kabupaten Lebak" in board
    tables = re.findall(r"(<[^>]+>)\s*<table\b", board)
    assert len(tables) == 2  # per bank, per kabupaten/kota
    assert set(tables) == {'<div class="table-responsive">'}


def test_people_are_named_by_their_full_name(client, field_worker_lebak, group, loan):
    type(field_worker_lebak).objects.filter(pk=field_worker_lebak.pk).update(
        first_name="Siti", last_name="Pendamping"
    )
    officer = bank_officer("BRI")
    type(officer).objects.filter(pk=officer.pk).update(first_name="Budi", last_name="Bank")
    first = loan.instalments.order_by("number").first()
    kur.repayment_record(
        actor=officer, application=loan, paid_on=timezone.localdate(), amount=first.amount
    )
    client.force_login(field_worker_lebak)
    detail = get(client, "kur_detail", loan.pk).content.decode()
    moves = detail[detail.index("Moves</h2>") : detail.index("Repayment schedule")]
    assert "Siti Pendamping" in moves
    assert "Budi Bank" in moves
    assert officer.username not in moves
    repayments = detail[detail.index("Repayments</h2>") :]
    assert "Budi Bank" in repayments
    assert officer.username not in repayments
    page = get(client, "detail", group.pk).content.decode()
    log = page[page.index("Founded on") : page.index("Business records")]
    assert "Siti Pendamping" in log  # facilitator and the actor of the status log
    assert f"· {field_worker_lebak.username}" not in log
    listed = get(client, "list").content.decode()
    assert "Siti Pendamping" in listed
