"""HTML pages of the eligibility engine and the tier pathway: thin views over the services.

- A household's pathway (a panel the household page loads with htmx, and a full page): where it
  stands and why, its assessments and its transitions; staff verify it or change its stage.
- The tier overview: households per stage, province -> kab/kota -> kecamatan -> desa.
- Rule sets: read by the register's readers; drafted, edited and published by provincial admins.
- Recalculation jobs: list, start, and a live progress bar.

Reads are scoped (a household outside the user's scope is 404); writes go through the services,
whose errors are put back on the forms.
"""

from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from households import selectors as register
from households.choices import WorkStatus
from households.forms import add_service_errors
from households.models import Household
from opd.access import Access, access_for, reachable_regions
from opd.models import Role
from povertycase.errors import DomainError, NotAllowed
from povertycase.views_util import run_service
from regions.models import Level, Region

from . import services
from .evaluation import NEED_PREFIX, ages_phrase, describe_condition, line_name
from .forms import (
    EXTREME_POOR_RULES,
    CaseChangeForm,
    JobStartForm,
    RuleSetForm,
    VerifyForm,
)
from .group_selectors import household_tier3
from .models import (
    Assessment,
    Case,
    JobStatus,
    RuleSet,
    RuleSetStatus,
    Transition,
)
from .money import format_rupiah
from .pathway import REGISTERED, State
from .rules import NEED_LACKING, NEED_NAMES, NEEDS
from .selectors import JOB_READERS, JOB_STARTERS, jobs_visible_to

PROVINCE_CODE = "36"
PAGE_SIZE = 25
HISTORY_LIMIT = 50
NOT_ASSESSED = "not_assessed"
CHILD_LEVEL = {None: Level.REGENCY, Level.REGENCY: Level.DISTRICT, Level.DISTRICT: Level.VILLAGE}
VERIFIERS = (Role.PROVINCIAL_ADMIN, Role.DISTRICT_STAFF, Role.FIELD_WORKER)
STAGE_CHANGERS = (Role.PROVINCIAL_ADMIN, Role.DISTRICT_STAFF)
# Column heads of the overview (the full stage name is in each head's title).
SHORT_STATE_LABELS = {
    State.TIER1: gettext_lazy("Tier 1"),
    State.TIER2: gettext_lazy("Tier 2"),
    State.TIER3: gettext_lazy("Tier 3"),
}
LINE_GROUPS = (
    ("poverty", gettext_lazy("Poverty")),
    ("needs", gettext_lazy("Basic needs")),
    ("pathway", gettext_lazy("Next steps on the pathway")),
)


# --- access -----------------------------------------------------------------------------------


def _require(request, allowed) -> Access:
    access = access_for(request.user)
    if not allowed(access):
        raise PermissionDenied
    return access


def _reads_register(access: Access) -> bool:
    return access.reads_register


def _edits_rules(access: Access) -> bool:
    return access.has_role(Role.PROVINCIAL_ADMIN)


def _reads_jobs(access: Access) -> bool:
    return access.has_role(*JOB_READERS)


def _starts_jobs(access: Access) -> bool:
    return access.has_role(*JOB_STARTERS)


def _reads_cases(access: Access) -> bool:
    # Case data is personal: the household scope decides which households (404 outside it).
    return access.reads_personal_data


def _run(call, form):
    """Call a service; on refusal put its errors on the form. Returns (result, HTTP status)."""

    def add_errors(exc):
        if isinstance(form, RuleSetForm):
            form.add_rule_errors(exc)
        else:
            add_service_errors(exc, form)

    return run_service(call, form, add_errors)


# --- household pathway ------------------------------------------------------------------------


def _household(request, pk: int) -> tuple[Access, Household]:
    access = _require(request, _reads_cases)
    households = register.household_list(request.user).select_related(
        "case__latest_assessment__rule_set"
    )
    try:
        return access, households.get(pk=pk)
    except Household.DoesNotExist as exc:
        raise Http404 from exc


def _case(household: Household) -> Case | None:
    try:
        return household.case
    except Case.DoesNotExist:
        return None


def _line_group(code: str) -> str:
    if code.startswith(NEED_PREFIX):
        return "needs"
    if code.startswith(("tier", "graduation")):
        return "pathway"
    return "poverty"


def _pathway(access: Access, household: Household) -> dict:
    """Where the household stands and why, and what the user may do about it."""
    case = _case(household)
    state = case.state if case is not None else REGISTERED
    assessment = case.latest_assessment if case is not None else None
    groups: dict[str, list] = defaultdict(list)
    if assessment is not None:
        for line in assessment.result.lines:
            groups[_line_group(line.code)].append(
                {
                    "text": line.text,
                    "passed": line.passed,
                    "unmet_need": line.need is not None and not line.passed,
                }
            )
    covers = access.covers(household.desa.code)
    return {
        "household": household,
        "case": case,
        "state": state,
        "state_label": State(state).label,
        "assessment": assessment,
        "line_groups": [(title, groups[key]) for key, title in LINE_GROUPS if groups[key]],
        "unmet_needs": [
            NEED_NAMES.get(n, n) for n in (assessment.unmet_needs if assessment else [])
        ],
        "can_verify": state == REGISTERED and covers and access.has_role(*VERIFIERS),
        "can_change": covers and access.has_role(*STAGE_CHANGERS),
    }


@require_GET
@login_required
def household_panel(request, pk: int):
    """htmx: the pathway panel of the household page (stage, since, why)."""
    access, household = _household(request, pk)
    context = _pathway(access, household)
    context["panel"] = True
    return render(request, "interventions/partials/_panel.html", context)


@require_GET
@login_required
def household_pathway(request, pk: int):
    access, household = _household(request, pk)
    return _household_page(request, access, household)


def _household_page(request, access, household, *, verify_form=None, change_form=None, status=200):
    context = _pathway(access, household)
    assessments = list(
        Assessment.objects.filter(household=household)
        .select_related("rule_set")
        .defer("inputs", "fingerprint", "rule_set__rules", "rule_set__notes")
        .order_by("-assessed_at", "-id")[:HISTORY_LIMIT]
    )
    for assessment in assessments:
        assessment.spending_text = (
            format_rupiah(assessment.spending_per_person)
            if assessment.spending_per_person is not None
            else ""
        )
    shown = {a.pk for a in assessments}
    transitions = list(
        Transition.objects.filter(household=household)
        .select_related("actor")
        .order_by("-at", "-id")[:HISTORY_LIMIT]
    )
    for transition in transitions:
        transition.assessment_shown = transition.assessment_id in shown
    # Errors of a form the page does not show (the stage changed meanwhile, or the role may not
    # act) go at the top.
    hidden_errors = [
        error
        for form, shown in (
            (verify_form, context["can_verify"]),
            (change_form, context["can_change"]),
        )
        if form is not None and not shown
        for error in form.non_field_errors()
    ]
    if context["can_verify"] and verify_form is None:
        verify_form = VerifyForm()
    if context["can_change"] and change_form is None:
        change_form = _change_form(household, context["state"])
    context.update(
        {
            "assessments": assessments,
            "transitions": transitions,
            "history_limit": HISTORY_LIMIT,
            "hidden_errors": hidden_errors,
            "verify_form": verify_form,
            "change_form": change_form,
        }
    )
    context["tier3"] = household_tier3(request.user, household)  # groups, KUR, graduation
    return render(request, "interventions/household.html", context, status=status)


def _change_form(household, state, data=None) -> CaseChangeForm:
    return CaseChangeForm(
        data,
        current=state,
        exit_reason_url=reverse("interventions:exit_reason", args=[household.pk]),
    )


@require_POST
@login_required
def case_verify(request, pk: int):
    access, household = _household(request, pk)
    form = VerifyForm(request.POST)
    status = 200
    if form.is_valid():
        transition, status = _run(
            lambda: services.case_verify(
                actor=request.user, household=household, note=form.cleaned_data["note"]
            ),
            form,
        )
        if transition is not None:
            messages.success(request, _("The household was verified."))
            return redirect("interventions:household", household.pk)
    return _household_page(request, access, household, verify_form=form, status=status)


@require_POST
@login_required
def case_change(request, pk: int):
    access, household = _household(request, pk)
    case = _case(household)
    form = _change_form(household, case.state if case else REGISTERED, request.POST)
    status = 200
    if form.is_valid():
        transition, status = _run(
            lambda: services.case_change(
                actor=request.user,
                household=household,
                to_state=form.cleaned_data["to_state"],
                reason=form.cleaned_data["reason"],
                exit_reason=form.cleaned_data["exit_reason"],
            ),
            form,
        )
        if transition is not None:
            if transition.is_override:
                message = _("The stage was changed to %(state)s (manual override).")
            else:
                message = _("The stage was changed to %(state)s.")
            messages.success(request, message % {"state": transition.get_to_state_display()})
            return redirect("interventions:household", household.pk)
    return _household_page(request, access, household, change_form=form, status=status)


@require_GET
@login_required
def exit_reason(request, pk: int):
    """htmx: the exit-reason select, shown while the chosen stage is "exited"."""
    access, household = _household(request, pk)
    if not _pathway(access, household)["can_change"]:
        raise PermissionDenied
    case = _case(household)
    form = _change_form(household, case.state if case else REGISTERED, request.GET)
    return render(request, "interventions/partials/_exit_reason.html", {"form": form})


# --- tier overview ----------------------------------------------------------------------------


def stage_counts(user, region: Region | None, depth: int) -> dict[str, dict[str, int]]:
    """Visible active households per stage, by region code cut to `depth` parts: one query,
    grouped by desa and stage, rolled up here. No stage yet counts as "not assessed"."""
    households = Household.objects.visible_to(user).active()
    if region is not None:
        households = households.filter(desa__code__startswith=region.code + ".")
    rows = households.order_by().values_list("desa__code", "case__state").annotate(n=Count("pk"))
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for desa_code, state, n in rows:
        key = ".".join(desa_code.split(".")[:depth])
        counts[key][state or NOT_ASSESSED] += n
    return counts


@require_GET
@login_required
def overview(request, code: str = ""):
    """How many households sit at each stage, region by region."""
    access = _require(request, _reads_register)
    if code == PROVINCE_CODE:
        return redirect("interventions:overview")
    region = None
    if code:
        region = Region.objects.filter(code=code).first() if access.reaches(code) else None
        if region is None or region.is_village:
            raise Http404
    child_level = CHILD_LEVEL[region.level if region else None]
    children = list(
        reachable_regions(access, level=child_level, parent_code=region.code if region else "")
    )
    depth = {Level.REGENCY: 2, Level.DISTRICT: 3, Level.VILLAGE: 4}[child_level]
    counts = stage_counts(request.user, region, depth)
    columns = [*State.values, NOT_ASSESSED]
    column_labels = [SHORT_STATE_LABELS.get(s, label) for s, label in State.choices]
    column_labels.append(_("Not assessed"))
    rows = []
    totals = dict.fromkeys(columns, 0)
    for child in children:
        by_state = counts.get(child.code, {})
        cells = [by_state.get(column, 0) for column in columns]
        for column, n in zip(columns, cells, strict=True):
            totals[column] += n
        rows.append(
            {
                "region": child,
                "cells": list(zip(column_labels, cells, strict=True)),
                "total": sum(cells),
                "url": ""
                if child.is_village
                else reverse("interventions:overview", args=[child.code]),
            }
        )
    context = {
        "region": region,
        "province": Region.objects.filter(code=PROVINCE_CODE).first(),
        "breadcrumbs": list(Region.objects.filter(code__in=_ancestor_codes(code)[1:]))
        if code
        else [],
        "headers": list(zip(column_labels, [*State.labels, _("Not assessed")], strict=True)),
        "rows": rows,
        "totals": [totals[column] for column in columns],
        "total": sum(totals.values()),
    }
    partial = request.htmx and not request.htmx.history_restore_request
    template = "interventions/partials/_overview.html" if partial else "interventions/overview.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _ancestor_codes(code: str) -> list[str]:
    return Region(code=code).ancestor_codes()


# --- rule sets --------------------------------------------------------------------------------


def _rule_set(version: int) -> RuleSet:
    return get_object_or_404(
        RuleSet.objects.select_related("created_by", "published_by"), version=version
    )


@require_GET
@login_required
def rule_sets(request):
    access = _require(request, _reads_register)
    return render(
        request,
        "interventions/rules.html",
        {
            "rule_sets": RuleSet.objects.select_related("created_by", "published_by")
            .defer("rules")
            .order_by("-version"),
            "can_edit": _edits_rules(access),
        },
    )


@require_GET
@login_required
def rule_set_detail(request, version: int):
    access = _require(request, _reads_register)
    rule_set = _rule_set(version)
    return render(
        request,
        "interventions/rule_detail.html",
        {
            "rule_set": rule_set,
            "sections": rules_in_words(rule_set.rules),
            "needs": needs_in_words(rule_set.rules),
            "can_edit": _edits_rules(access),
            "is_draft": rule_set.status == RuleSetStatus.DRAFT,
        },
    )


@require_POST
@login_required
def rule_set_new(request):
    """A new draft: a copy of the version posted as "from", else of the set in force."""
    _require(request, _edits_rules)
    source = None
    if request.POST.get("from", "").isdecimal():
        source = get_object_or_404(RuleSet, version=int(request.POST["from"]))
    else:
        source = RuleSet.objects.in_force().first()
    name = (
        _("Draft from v%(version)s") % {"version": source.version} if source else _("New rule set")
    )
    try:
        draft = services.rule_set_create(
            actor=request.user, name=name, rules=source.rules if source else None
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("interventions:rules")
    messages.success(request, _("Draft v%(version)s was created.") % {"version": draft.version})
    return redirect("interventions:rule_edit", draft.version)


@require_http_methods(["GET", "POST"])
@login_required
def rule_set_edit(request, version: int):
    _require(request, _edits_rules)
    rule_set = _rule_set(version)
    if rule_set.status != RuleSetStatus.DRAFT:
        messages.error(request, _("Only a draft can be edited; create a new draft from it."))
        return redirect("interventions:rule_detail", rule_set.version)
    status = 200
    if request.method == "POST":
        form = RuleSetForm(request.POST, rule_set=rule_set)
        if form.is_valid():
            saved, status = _run(
                lambda: services.rule_set_update(
                    actor=request.user,
                    rule_set=rule_set,
                    name=form.cleaned_data["name"],
                    rules=form.rules(),
                    notes=form.cleaned_data["notes"],
                ),
                form,
            )
            if saved is not None:
                messages.success(request, _("The draft was saved."))
                return redirect("interventions:rule_detail", rule_set.version)
        else:
            form.check_rules()
        # Nothing is saved on error: show the stored draft, not the half-applied changes.
        rule_set.refresh_from_db()
    else:
        form = RuleSetForm(rule_set=rule_set)
    return render(
        request,
        "interventions/rule_form.html",
        {"form": form, "rule_set": rule_set},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@login_required
def rule_set_publish(request, version: int):
    """GET: what publishing does (it recalculates the province); POST: publish."""
    _require(request, _edits_rules)
    rule_set = _rule_set(version)
    if rule_set.status != RuleSetStatus.DRAFT:
        messages.error(request, _("Only a draft can be published."))
        return redirect("interventions:rule_detail", rule_set.version)
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        try:
            job = services.rule_set_publish(actor=request.user, rule_set=rule_set)
        except ValidationError as exc:
            errors = [
                f"{key.removeprefix('rules.')}: {message}"
                for key, messages_ in exc.message_dict.items()
                for message in messages_
            ]
        except DomainError as exc:
            errors, status = [str(exc.message)], 403 if isinstance(exc, NotAllowed) else 409
        else:
            messages.success(
                request,
                _("v%(version)s is in force; the province is being recalculated.")
                % {"version": rule_set.version},
            )
            return redirect("interventions:job", job.pk)
    return render(
        request,
        "interventions/rule_publish.html",
        {
            "rule_set": rule_set,
            "in_force": RuleSet.objects.in_force().defer("rules").first(),
            "errors": errors,
        },
        status=status,
    )


def _rule_line(rules: dict) -> str:
    return dict(EXTREME_POOR_RULES).get(rules["extreme_poor_rule"], rules["extreme_poor_rule"])


def rules_in_words(rules: dict) -> list[tuple[str, list[tuple[str, str]]]]:
    """The lines, tier entry and graduation settings of a rule set, as (label, words) rows."""
    tier2, tier3 = rules["tiers"]["tier2"], rules["tiers"]["tier3"]
    graduation = rules["graduation"]
    work_labels = dict(WorkStatus.choices)
    excluded = [str(work_labels.get(s, s)) for s in tier2["excluded_work_statuses"]]
    yes, no = _("Yes"), _("No")
    return [
        (
            _("Poverty lines"),
            [
                (_("Year"), str(rules["year"])),
                (
                    _("Extreme-poverty line"),
                    _("%(amount)s per person per month")
                    % {"amount": format_rupiah(rules["extreme_poverty_line"])},
                ),
                (
                    _("Provincial poverty line"),
                    _("%(amount)s per person per month")
                    % {"amount": format_rupiah(rules["poverty_line"])},
                ),
                (_("Desil cut-off"), _("desil %(n)s or lower") % {"n": rules["desil_cutoff"]}),
                (_("Extreme poor when"), str(_rule_line(rules))),
            ],
        ),
        (
            _("Tier 2 entry (individual empowerment)"),
            [
                (
                    _("Unmet critical needs"),
                    _("at most %(n)s") % {"n": tier2["max_unmet_critical_needs"]},
                ),
                (
                    _("Members able to train"),
                    _("at least %(n)s %(ages)s")
                    % {
                        "n": tier2["min_working_age_members"],
                        "ages": ages_phrase(tier2["working_age_min"], tier2["working_age_max"]),
                    },
                ),
                (_("Not counted as able to train"), ", ".join(excluded) or "—"),
            ],
        ),
        (
            _("Tier 3 entry (group empowerment)"),
            [
                (_("Includes"), _("every tier 2 entry criterion")),
                (
                    _("Unmet critical needs"),
                    _("at most %(n)s") % {"n": tier3["max_unmet_critical_needs"]},
                ),
                (
                    _("Members who completed training"),
                    _("at least %(n)s") % {"n": tier3["min_trained_members"]},
                ),
                (_("Active group required"), yes if tier3["requires_active_group"] else no),
            ],
        ),
        (
            _("Graduation"),
            [
                (
                    _("Spending per person"),
                    _("at or above %(line)s") % {"line": line_name(graduation["spending_above"])},
                ),
                (
                    _("Consecutive assessments"),
                    _("%(n)s, at least %(months)s months apart")
                    % {
                        "n": graduation["consecutive_assessments"],
                        "months": graduation["min_months_between"],
                    },
                ),
                (
                    _("Unmet critical needs"),
                    _("at most %(n)s") % {"n": graduation["max_unmet_critical_needs"]},
                ),
                (
                    _("Monitoring after graduation"),
                    _("%(n)s months") % {"n": graduation["monitoring_months"]},
                ),
            ],
        ),
    ]


def needs_in_words(rules: dict) -> list[dict]:
    """Each basic need: its name, whether it is critical, and when it counts as unmet."""
    needs = []
    for need in NEEDS:
        spec = rules["deprivations"][need]
        needs.append(
            {
                "name": NEED_NAMES[need],
                "lacking": spec.get("label") or NEED_LACKING[need],
                "critical": spec["critical"],
                "criteria": [describe_condition(c) for c in spec["criteria"]],
            }
        )
    return needs


# --- recalculation jobs -----------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def job_list(request):
    """The recalculation jobs the user may see, and (for the roles that may) a form to start one."""
    access = _require(request, _starts_jobs if request.method == "POST" else _reads_jobs)
    can_start = _starts_jobs(access)
    data = request.POST if request.method == "POST" else None
    form = JobStartForm(data, access=access) if can_start else None
    status = 200
    if request.method == "POST" and form.is_valid():
        job, status = _run(
            lambda: services.job_start(actor=request.user, region=form.cleaned_data["region"]),
            form,
        )
        if job is not None:
            messages.success(request, _("The recalculation was queued."))
            return redirect("interventions:job", job.pk)
    jobs = (
        jobs_visible_to(request.user)
        .select_related("region", "created_by")
        .order_by("-created_at", "-id")
    )
    page = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "interventions/jobs.html",
        {"page": page, "form": form, "can_start": can_start},
        status=status,
    )


@require_GET
@login_required
def job_detail(request, pk: int):
    """A job with its progress bar; an htmx request gets the bar alone (polled every 2 s while
    the job is queued or running)."""
    _require(request, _reads_jobs)
    job = get_object_or_404(
        jobs_visible_to(request.user).select_related("region", "created_by"), pk=pk
    )
    context = {"job": job, "polling": job.status in (JobStatus.QUEUED, JobStatus.RUNNING)}
    template = (
        "interventions/partials/_job_progress.html"
        if request.htmx
        else "interventions/job_detail.html"
    )
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response
