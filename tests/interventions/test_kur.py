"""KUR: the schedule and arrears (pure), the pipeline's refusals, the daily check."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from interventions import graduation, kur
from interventions.models import FollowUp, Graduation, KurScheme, KurStatusChange
from interventions.tasks import tier3_daily_checks
from povertycase.errors import NotAllowed, OutOfScope

from .tier3 import bank, bank_officer, clock, disbursed_loan, make_group, scheme  # noqa: F401


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def test_flat_schedule_in_whole_rupiah_the_last_absorbs_rounding():
    lines = kur.schedule(
        amount=10_000_000, rate_bp=600, tenor_months=7, disbursed_on=date(2026, 1, 31)
    )
    assert [line.due_on for line in lines[:2]] == [date(2026, 2, 28), date(2026, 3, 31)]
    assert sum(line.principal for line in lines) == 10_000_000
    assert sum(line.interest for line in lines) == 350_000  # 10 juta x 6% x 7/12
    assert {line.principal for line in lines[:-1]} == {1_428_571}
    assert lines[-1].principal == 1_428_574
    assert lines[-1].interest == 50_000


@pytest.mark.parametrize(
    ("paid", "today", "amount", "days"),
    [
        (0, date(2026, 2, 27), 0, 0),  # nothing due yet
        (0, date(2026, 3, 10), 100, 9),
        (100, date(2026, 3, 10), 0, 0),
        (150, date(2026, 4, 15), 50, 15),  # the second instalment is half paid
        (300, date(2026, 9, 1), 0, 0),
    ],
)
def test_arrears_from_the_schedule(paid, today, amount, days):
    lines = [
        kur.Line(1, date(2026, 2, 28), 90, 10),
        kur.Line(2, date(2026, 3, 31), 90, 10),
        kur.Line(3, date(2026, 4, 30), 90, 10),
    ]
    due = [kur.Line(1, date(2026, 3, 1), 90, 10), *lines[1:]]
    result = kur.arrears(due, paid, today)
    assert (result.amount, result.days) == (amount, days)
    assert result.outstanding == 300 - paid


def test_repeat_loans_raise_the_rate_and_stop_at_the_limit(db, desa_lebak, field_worker_lebak):
    mikro = scheme("mikro")
    assert [mikro.rate_for(n) for n in (1, 2, 3, 4, 5)] == [600, 700, 800, 900, 900]
    group = make_group(field_worker_lebak, desa_lebak)
    officer = bank_officer("BNI")
    for number in (1, 2):
        application = kur.kur_application_create(
            actor=field_worker_lebak, group=group, scheme=mikro, bank=bank("BNI"),
            amount=20_000_000, tenor_months=12, purpose="Modal",
        )  # fmt: skip
        assert (application.loan_number, application.rate_bp) == (number, 500 + 100 * number)
        kur.kur_application_move(
            actor=field_worker_lebak, application=application, to_status="submitted"
        )
        kur.kur_application_move(actor=officer, application=application, to_status="approved")
        kur.kur_application_move(actor=officer, application=application, to_status="disbursed")
    with pytest.raises(ValidationError) as exc:
        kur.kur_application_create(
            actor=field_worker_lebak, group=group, scheme=mikro, bank=bank("BNI"),
            amount=20_000_000, tenor_months=12, purpose="Modal",
        )  # fmt: skip
    assert "at most 2 loans" in exc.value.message_dict["scheme"][0]


def test_illegal_moves_and_wrong_roles_are_refused(db, desa_lebak, field_worker_lebak):
    group = make_group(field_worker_lebak, desa_lebak)
    application = kur.kur_application_create(
        actor=field_worker_lebak, group=group, scheme=scheme(), bank=bank(), amount=2_000_000,
        tenor_months=4, purpose="Modal",
    )  # fmt: skip
    with pytest.raises(ValidationError) as exc:
        kur.kur_application_move(
            actor=field_worker_lebak, application=application, to_status="repaid"
        )  # fmt: skip
    assert "cannot become repaid" in exc.value.message_dict["to_status"][0]
    kur.kur_application_move(
        actor=field_worker_lebak, application=application, to_status="submitted"
    )
    with pytest.raises(NotAllowed):
        kur.kur_application_move(
            actor=field_worker_lebak, application=application, to_status="approved"
        )
    with pytest.raises(OutOfScope):  # another bank's officer does not see it at all
        kur.kur_application_move(
            actor=bank_officer("BNI"), application=application, to_status="approved"
        )
    assert KurStatusChange.objects.filter(application=application).count() == 2


def test_the_daily_check_moves_late_loans_and_raises_follow_ups_once(
    db,
    desa_lebak,
    field_worker_lebak,
    clock,  # noqa: F811
    settings,
):
    settings.KUR_ARREARS_FOLLOW_UP_DAYS = 30
    group = make_group(field_worker_lebak, desa_lebak)
    application, officer = disbursed_loan(group, field_worker_lebak, amount=3_000_000, tenor=3)
    clock.at(50)  # first instalment ~20 days late: not yet
    assert tier3_daily_checks() == {"follow_ups": 0, "monitoring_completed": 0}
    clock.at(75)  # ~45 days late
    assert tier3_daily_checks()["follow_ups"] == 5  # one per member household
    application.refresh_from_db()
    assert application.status == "in_arrears"
    assert application.status_changes.last().actor is None
    assert tier3_daily_checks()["follow_ups"] == 0  # not raised twice
    assert FollowUp.objects.filter(kind="arrears", application=application).count() == 5
    due = kur.application_arrears(application).amount
    kur.repayment_record(actor=officer, application=application, paid_on=clock.at(75), amount=due)
    application.refresh_from_db()
    assert application.status == "repaying"


def test_monitoring_periods_that_ended_are_completed(db, desa_lebak, field_worker_lebak):
    group = make_group(field_worker_lebak, desa_lebak)
    household = group.memberships.first().member.household
    ended = Graduation.objects.create(
        household=household, graduated_on="2024-01-01", monitoring_until="2025-01-01"
    )
    running = Graduation.objects.create(
        household=household, graduated_on="2026-06-01", monitoring_until="2099-06-01"
    )
    assert graduation.graduation_monitoring_close() == 1
    ended.refresh_from_db()
    running.refresh_from_db()
    assert (ended.status, running.status) == ("completed", "monitoring")


def test_schemes_are_seeded_from_domain_with_their_source(db):
    rows = {s.code: (s.max_amount, s.rates_bp, s.max_loans) for s in KurScheme.objects.all()}
    assert rows == {
        "super-mikro": (10_000_000, [300], None),
        "mikro": (100_000_000, [600, 700, 800, 900], 2),
        "kecil": (500_000_000, [600, 700, 800, 900], None),
    }
    assert all("Permenko Perekonomian 1/2023" in s.source for s in KurScheme.objects.all())


def test_a_move_into_arrears_needs_arrears_and_a_reason(
    db,
    desa_lebak,
    field_worker_lebak,
    clock,  # noqa: F811
):
    group = make_group(field_worker_lebak, desa_lebak)
    application, officer = disbursed_loan(group, field_worker_lebak, amount=3_000_000, tenor=3)
    before = KurStatusChange.objects.count()
    with pytest.raises(ValidationError) as exc:  # nothing due yet, and no reason
        kur.kur_application_move(actor=officer, application=application, to_status="in_arrears")
    assert exc.value.message_dict == {
        "note": ["Give a reason."],
        "to_status": ["The loan cannot be in arrears: nothing due by today is unpaid."],
    }
    clock.at(40)  # the first instalment is due and unpaid
    with pytest.raises(ValidationError) as exc:
        kur.kur_application_move(actor=officer, application=application, to_status="in_arrears")
    assert exc.value.message_dict == {"note": ["Give a reason."]}
    assert KurStatusChange.objects.count() == before
    application.refresh_from_db()
    assert application.status == "disbursed"
    kur.kur_application_move(
        actor=officer, application=application, to_status="in_arrears", note="Not paid"
    )
    assert application.status == "in_arrears"
    assert application.status_changes.last().note == "Not paid"


def test_a_loan_that_caught_up_cannot_be_put_into_arrears(
    db,
    desa_lebak,
    field_worker_lebak,
    clock,  # noqa: F811
):
    group = make_group(field_worker_lebak, desa_lebak)
    application, officer = disbursed_loan(group, field_worker_lebak, amount=3_000_000, tenor=3)
    today = clock.at(40)
    due = kur.application_arrears(application).amount
    kur.repayment_record(actor=officer, application=application, paid_on=today, amount=due)
    application.refresh_from_db()
    assert application.status == "repaying"
    with pytest.raises(ValidationError) as exc:
        kur.kur_application_move(
            actor=officer, application=application, to_status="in_arrears", note="Late"
        )
    assert "nothing due by today is unpaid" in exc.value.message_dict["to_status"][0]
    application.refresh_from_db()
    assert application.status == "repaying"


def test_a_rejection_needs_a_reason(db, desa_lebak, field_worker_lebak):
    group = make_group(field_worker_lebak, desa_lebak)
    application = kur.kur_application_create(
        actor=field_worker_lebak, group=group, scheme=scheme(), bank=bank(), amount=2_000_000,
        tenor_months=4, purpose="Modal",
    )  # fmt: skip
    kur.kur_application_move(
        actor=field_worker_lebak, application=application, to_status="submitted"
    )
    officer = bank_officer("BRI")
    with pytest.raises(ValidationError) as exc:
        kur.kur_application_move(actor=officer, application=application, to_status="rejected")
    assert exc.value.message_dict == {"note": ["Give a reason."]}
    application.refresh_from_db()
    assert application.status == "submitted"
    kur.kur_application_move(
        actor=officer, application=application, to_status="rejected", note="No business plan"
    )
    assert application.status == "rejected"
