"""The tier pathway: an explicit state machine and its guards (pure: no database).

States: registered -> verified -> tier1 (basic-needs aid) -> tier2 (individual empowerment)
-> tier3 (group empowerment) -> graduated, plus exited (with an ``ExitReason``) from anywhere.
``ALLOWED`` lists every regular transition; ``decide`` only ever proposes one of them, and
``check_manual`` guards the wider ``ALLOWED_MANUAL`` set that staff may use with a reason.

``decide(current, verdict, history, rules, on=...)`` proposes at most one automatic move:

- registered: none (verification is a human step); exited: none (re-entry is manual).
- verified -> the tier the verdict recommends (the one jump of more than one step).
- tier1 -> tier2 once tier 2 entry holds (critical needs met, a working-age member can train).
- tier2 -> graduated when the graduation criteria hold over time (see ``graduation_chain``),
  else tier2 -> tier3 once tier 3 entry holds (a member completed training, group if required).
  Tier 2 may graduate directly: a job found through individual empowerment can lift a household
  above the line, and group empowerment then has nothing left to do.
- tier3 -> graduated under the same graduation criteria, plus (when the rule set says so) a
  running business (a recent business record of the member's group) or a KUR loan in good
  standing (the ``graduation.business`` line).
- relapse (kind "relapse") back to tier1: a tier2 or tier3 household that is extreme poor with
  more critical needs unmet than tier 2 allows; a graduated household likewise, or whose
  spending fell below the extreme-poverty line. (Spending below the line alone does not send a
  tier 2/3 household back: it is normal while empowerment is under way.)
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final, NamedTuple

from django.core.exceptions import ValidationError
from django.db.models import TextChoices
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from .evaluation import (
    GRADUATION_BUSINESS,
    CompiledRules,
    Verdict,
    join_and,
    line_name,
    render_summary,
)
from .money import format_rupiah


class State(TextChoices):
    REGISTERED = "registered", gettext_lazy("Registered")
    VERIFIED = "verified", gettext_lazy("Verified")
    TIER1 = "tier1", gettext_lazy("Tier 1: basic-needs aid")
    TIER2 = "tier2", gettext_lazy("Tier 2: individual empowerment")
    TIER3 = "tier3", gettext_lazy("Tier 3: group empowerment")
    GRADUATED = "graduated", gettext_lazy("Graduated")
    EXITED = "exited", gettext_lazy("Exited")


class ExitReason(TextChoices):
    MOVED = "moved", gettext_lazy("Moved away")
    DIED = "died", gettext_lazy("Died")
    DUPLICATE = "duplicate", gettext_lazy("Duplicate registration")
    REFUSED = "refused", gettext_lazy("Refused the programme")
    NOT_ELIGIBLE = "not_eligible", gettext_lazy("No longer eligible")


class Kind(TextChoices):
    """How a transition came about. ``decide`` gives AUTOMATIC or RELAPSE; staff give MANUAL."""

    AUTOMATIC = "automatic", gettext_lazy("Automatic")
    RELAPSE = "relapse", gettext_lazy("Relapse")
    MANUAL = "manual", gettext_lazy("Manual override")


REGISTERED: Final = State.REGISTERED.value
VERIFIED: Final = State.VERIFIED.value
TIER1: Final = State.TIER1.value
TIER2: Final = State.TIER2.value
TIER3: Final = State.TIER3.value
GRADUATED: Final = State.GRADUATED.value
EXITED: Final = State.EXITED.value

TIER_STATES: Final = {1: TIER1, 2: TIER2, 3: TIER3}
ACTIVE_STATES: Final = frozenset(s for s in State.values if s != EXITED)

#: The regular transitions (automatic ones are a subset: never to exited).
ALLOWED: Final[Mapping[str, frozenset[str]]] = {
    REGISTERED: frozenset({VERIFIED, EXITED}),
    VERIFIED: frozenset({TIER1, TIER2, TIER3, EXITED}),
    TIER1: frozenset({TIER2, EXITED}),
    TIER2: frozenset({TIER3, GRADUATED, TIER1, EXITED}),
    TIER3: frozenset({GRADUATED, TIER1, EXITED}),
    GRADUATED: frozenset({TIER1, EXITED}),
    EXITED: frozenset(),
}

#: What staff may do with a reason: any active state to any other or to exited; an exited
#: household only re-enters as registered.
ALLOWED_MANUAL: Final[Mapping[str, frozenset[str]]] = {
    **{state: (ACTIVE_STATES - {state}) | {EXITED} for state in ACTIVE_STATES},
    EXITED: frozenset({REGISTERED}),
}


def is_regular(current: str, to_state: str) -> bool:
    """Is this transition in ``ALLOWED`` (as opposed to an override only staff may make)?"""
    return to_state in ALLOWED.get(current, frozenset())


class AssessmentPoint(NamedTuple):
    """A previous assessment, as far as the pathway needs it."""

    assessed_on: date
    spending_per_person: int | None
    meets_graduation: bool


@dataclass(frozen=True)
class Decision:
    """A proposed automatic transition. ``reason`` words it in the active language.

    ``code`` ("placed", "tier2_entry", "tier3_entry", "graduation", "relapse") and ``params``
    (JSON) are what to store; ``Decision.from_dict`` words them again later.
    """

    to_state: str
    kind: str  # Kind.AUTOMATIC or Kind.RELAPSE
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def reason(self) -> str:
        return reason_text(self.code, self.params)

    def as_dict(self) -> dict[str, Any]:
        return {
            "to_state": self.to_state,
            "kind": self.kind,
            "code": self.code,
            "params": self.params,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Decision:
        return cls(data["to_state"], data["kind"], data["code"], dict(data.get("params") or {}))


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months, clamped to the month's end (31 Jan + 1 -> 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def _rules(rules: dict | CompiledRules) -> dict:
    return rules.rules if isinstance(rules, CompiledRules) else rules


def graduation_chain(
    verdict: Verdict, history: Sequence[AssessmentPoint], rules: dict | CompiledRules, *, on: date
) -> list[AssessmentPoint] | None:
    """The assessments that qualify the household to graduate today, oldest first, or None.

    Graduation needs ``consecutive_assessments`` assessments (this one included) that meet the
    single-assessment criteria, each at least ``min_months_between`` months after the one
    before, with no assessment in between that failed them. Assessments closer together than
    that are skipped (they neither count nor break the run unless they fail).
    """
    if not verdict.meets_graduation:
        return None
    settings = _rules(rules)["graduation"]
    needed, months = settings["consecutive_assessments"], settings["min_months_between"]
    chain = [AssessmentPoint(on, verdict.spending_per_person, True)]
    for point in reversed(history):
        if len(chain) >= needed:
            break
        if point.assessed_on > on:
            continue  # not before this assessment: ignore
        if not point.meets_graduation:
            return None
        if add_months(point.assessed_on, months) <= chain[-1].assessed_on:
            chain.append(point)
    return list(reversed(chain)) if len(chain) >= needed else None


def _relapses(current: str, verdict: Verdict, rules: dict) -> bool:
    if current not in (TIER2, TIER3, GRADUATED):
        return False
    limit = rules["tiers"]["tier2"]["max_unmet_critical_needs"]
    needs_relapse = verdict.extreme_poor and len(verdict.unmet_critical_needs) > limit
    if current == GRADUATED:
        return needs_relapse or verdict.below_extreme_line
    return needs_relapse


def _because(verdict: Verdict, to_state: str, kind: Kind, code: str) -> Decision:
    return Decision(to_state, kind.value, code, {"summary": verdict.summary_params()})


def decide(
    current: str,
    verdict: Verdict,
    history: Sequence[AssessmentPoint],
    rules: dict | CompiledRules,
    *,
    on: date,
) -> Decision | None:
    """The automatic transition this assessment justifies, or None to stay.

    ``history``: the household's previous assessments, newest last (points dated after ``on``
    are ignored). ``on``: the date of this assessment (Asia/Jakarta). See the module docstring
    for the guards. Pure and deterministic.
    """
    if current not in ALLOWED:
        raise ValueError(f"unknown pathway state {current!r}")
    data = _rules(rules)
    if current in (REGISTERED, EXITED):
        return None
    if current == VERIFIED:
        to_state = TIER_STATES[verdict.recommended_tier]
        return _because(verdict, to_state, Kind.AUTOMATIC, "placed")
    if _relapses(current, verdict, data):
        return _because(verdict, TIER1, Kind.RELAPSE, "relapse")
    if current == TIER1:
        if verdict.eligible_tier2:
            return _because(verdict, TIER2, Kind.AUTOMATIC, "tier2_entry")
        return None
    if current in (TIER2, TIER3):
        chain = graduation_chain(verdict, history, data, on=on)
        business = verdict.line(GRADUATION_BUSINESS)
        if chain is not None and current == TIER3 and business is not None and not business.passed:
            chain = None  # graduating from tier 3 also needs a running business or a sound loan
        if chain is not None:
            settings = data["graduation"]
            kind = settings["spending_above"]
            params = {
                "line_kind": kind,
                "line": data["extreme_poverty_line" if kind == "extreme" else "poverty_line"],
                "months": settings["min_months_between"],
                "max_unmet": settings["max_unmet_critical_needs"],
                "unmet": len(verdict.unmet_critical_needs),
                "points": [[p.assessed_on.isoformat(), p.spending_per_person] for p in chain],
            }
            return Decision(GRADUATED, Kind.AUTOMATIC.value, "graduation", params)
        if current == TIER2 and verdict.eligible_tier3:
            return _because(verdict, TIER3, Kind.AUTOMATIC, "tier3_entry")
    return None


# --- words ------------------------------------------------------------------------------------


def _graduation_text(p: Mapping[str, Any]) -> str:
    points = "; ".join(
        _("%(date)s: %(spending)s")
        % {
            "date": formats.date_format(date.fromisoformat(day), "DATE_FORMAT"),
            "spending": _("not known") if spending is None else format_rupiah(spending),
        }
        for day, spending in p["points"]
    )
    line_words = _("at or above %(line_name)s of %(line)s") % {
        "line_name": line_name(p["line_kind"]),
        "line": format_rupiah(p["line"]),
    }
    if p["unmet"] == 0:
        needs = _("every critical need is met")
    else:
        needs = ngettext(
            "%(count)s critical need is unmet, within the limit of %(limit)s",
            "%(count)s critical needs are unmet, within the limit of %(limit)s",
            p["unmet"],
        ) % {"count": p["unmet"], "limit": p["max_unmet"]}
    return ngettext(
        "Graduated: spending per person was %(line)s at %(count)s assessment (%(points)s), "
        "and %(needs)s.",
        "Graduated: spending per person was %(line)s at %(count)s assessments at least "
        "%(months)s months apart (%(points)s), and %(needs)s.",
        len(p["points"]),
    ) % {
        "line": line_words,
        "count": len(p["points"]),
        "months": p["months"],
        "points": points,
        "needs": needs,
    }


def reason_text(code: str, params: Mapping[str, Any]) -> str:
    """Word a decision's reason (``Decision.reason``) in the active language."""
    if code == "graduation":
        return _graduation_text(params)
    summary = dict(params.get("summary") or {})
    if code == "placed":
        return render_summary(summary, lead="placed")
    if code == "relapse":
        return render_summary(summary, lead="relapse")
    if code == "tier2_entry":
        return render_summary({**summary, "tier": 2}, lead="moved")
    if code == "tier3_entry":
        return render_summary({**summary, "tier": 3}, lead="moved")
    return code


def check_manual(
    current: str, to_state: str, reason: str, *, exit_reason: str | None = None
) -> None:
    """Refuse a manual transition that lacks a reason or is not in ``ALLOWED_MANUAL``.

    Raises ``ValidationError`` keyed "reason", "to_state" or "exit_reason". An exit needs an
    ``ExitReason``; nothing else takes one.
    """
    if current not in ALLOWED_MANUAL:
        raise ValueError(f"unknown pathway state {current!r}")
    errors: dict[str, list[str]] = {}
    if not (reason or "").strip():
        errors["reason"] = [_("A manual change needs a reason.")]
    labels = dict(State.choices)
    if to_state not in labels:
        errors["to_state"] = [
            _("Unknown state '%(state)s'; known states: %(states)s.")
            % {"state": to_state, "states": ", ".join(State.values)}
        ]
    elif to_state == current:
        errors["to_state"] = [
            _("The household is already at this stage (%(state)s).") % {"state": labels[current]}
        ]
    elif to_state not in ALLOWED_MANUAL[current]:
        allowed = [str(labels[s]) for s in State.values if s in ALLOWED_MANUAL[current]]
        errors["to_state"] = [
            _("A household cannot go from %(current)s to %(to)s; allowed: %(allowed)s.")
            % {"current": labels[current], "to": labels[to_state], "allowed": join_and(allowed)}
        ]
    if to_state == EXITED and exit_reason not in ExitReason.values:
        errors["exit_reason"] = [
            _("An exit needs an exit reason: %(reasons)s.")
            % {"reasons": ", ".join(str(label) for label in ExitReason.labels)}
        ]
    elif to_state != EXITED and exit_reason:
        errors["exit_reason"] = [_("Only an exit takes an exit reason.")]
    if errors:
        raise ValidationError(errors)
