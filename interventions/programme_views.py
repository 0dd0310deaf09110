"""HTML pages of the programme catalogue: thin views over ``interventions.programmes``.

- The catalogue with filters (agency, tier, need, strategy, funding source, running today), for
  everyone who reads the register, OPD officers and CSR partners (no personal data here).
- A programme's page: everything in words, its periods with quota and budget.
- Forms to add a programme (provincial administrators), edit one (administrators; an OPD officer
  their own agency's) and add a budget period. The services check every rule; their errors are
  shown next to the fields and nothing is written.

The forms check the shape of the input only (they live here: the catalogue's pages are their
only users).
"""

import json

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from opd.access import Access, access_for
from opd.models import Organisation, OrganisationKind
from povertycase.views_util import page_query, run_service
from regions.models import Level, Region

from . import programmes as catalogue
from .forms import FormMixin
from .models import FundingSource, Programme, ProgrammeTier, Strategy
from .money import format_rupiah
from .view_actions import style_filter_form

PAGE_SIZE = 25


# --- forms ------------------------------------------------------------------------------------


class ProgrammeForm(FormMixin, forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=30,
        help_text=gettext_lazy("Short and unique, e.g. PKH or PBI-JK; it never changes."),
    )
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    owner = forms.ModelChoiceField(
        label=gettext_lazy("Owner (OPD)"),
        queryset=Organisation.objects.none(),
        empty_label="—",
    )
    tier = forms.TypedChoiceField(
        label=gettext_lazy("Tier"),
        choices=[("", "—"), *ProgrammeTier.choices],
        coerce=int,
    )
    strategy = forms.ChoiceField(
        label=gettext_lazy("Strategy (Inpres)"), choices=[("", "—"), *Strategy.choices]
    )
    needs = forms.MultipleChoiceField(
        label=gettext_lazy("Needs it meets"),
        required=False,
        choices=[(n, catalogue.PROGRAMME_NEED_NAMES[n]) for n in catalogue.PROGRAMME_NEEDS],
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy(
            "Skills training: tier 2 programmes only; group business: tier 3 programmes only."
        ),
    )
    funding_sources = forms.MultipleChoiceField(
        label=gettext_lazy("Funding sources"),
        required=False,
        choices=FundingSource.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    unit = forms.CharField(
        label=gettext_lazy("Unit of delivery"),
        max_length=60,
        help_text=gettext_lazy('e.g. "keluarga / bulan" or "rumah"'),
    )
    unit_value = forms.IntegerField(
        label=gettext_lazy("Value per unit (Rp)"),
        help_text=gettext_lazy("Whole rupiah, digits only (e.g. 200000)."),
        error_messages={
            "invalid": gettext_lazy(
                "Enter whole rupiah as digits only, without decimals, dots or spaces."
            )
        },
    )
    active_from = forms.DateField(
        label=gettext_lazy("Active from"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    active_until = forms.DateField(
        label=gettext_lazy("Active until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=gettext_lazy("Empty: no end date."),
    )
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)
    target_regions = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Target regions"),
        queryset=Region.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: the whole province."),
    )
    eligibility = forms.CharField(
        label=gettext_lazy("Eligibility (conditions on household facts)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "class": "font-monospace", "spellcheck": "false"}),
        help_text=gettext_lazy(
            "A JSON list of conditions in the rule-set language; every condition must hold. "
            'Empty or []: every household. Example: [{"field": "ownership", "op": "==", '
            '"value": "own"}]'
        ),
    )
    description = forms.CharField(
        label=gettext_lazy("Description"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    source_note = forms.CharField(
        label=gettext_lazy("Source of the amounts"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    FIELDSETS = (
        (
            gettext_lazy("Programme"),
            ("code", "name", "owner", "tier", "strategy", "is_active", "description"),
        ),
        (
            gettext_lazy("What it gives"),
            ("needs", "funding_sources", "unit", "unit_value", "source_note"),
        ),
        (
            gettext_lazy("Who and where"),
            ("active_from", "active_until", "target_regions", "eligibility"),
        ),
    )
    WIDE = ("description", "source_note", "eligibility")

    def __init__(self, *args, programme: Programme | None = None, may_move: bool = True, **kwargs):
        """``programme``: the one being edited (its code is fixed); ``may_move``: whether the
        user may give it to another agency (provincial administrators)."""
        super().__init__(*args, **kwargs)
        self.programme = programme
        owners = Organisation.objects.filter(kind=OrganisationKind.OPD, is_active=True)
        regions = Region.objects.filter(level=Level.REGENCY)
        if programme is not None:
            del self.fields["code"]
            current = Organisation.objects.filter(pk=programme.owner_id)
            owners = (owners | current) if may_move else current
            targets = [r.pk for r in programme.target_regions.all()]
            regions = regions | Region.objects.filter(pk__in=targets)
        self.fields["owner"].queryset = owners.order_by("short_name")
        self.fields["target_regions"].queryset = regions.order_by("code")

    @classmethod
    def initial_for(cls, programme: Programme) -> dict:
        return {
            "name": programme.name,
            "owner": programme.owner_id,
            "tier": programme.tier,
            "strategy": programme.strategy,
            "needs": programme.needs,
            "funding_sources": programme.funding_sources,
            "unit": programme.unit,
            "unit_value": programme.unit_value,
            "active_from": programme.active_from,
            "active_until": programme.active_until,
            "is_active": programme.is_active,
            "target_regions": [r.pk for r in programme.target_regions.all()],
            "eligibility": json.dumps(programme.eligibility, ensure_ascii=False, indent=1)
            if programme.eligibility
            else "",
            "description": programme.description,
            "source_note": programme.source_note,
        }

    def fieldsets(self):
        return [
            (title, [self[name] for name in names if name in self.fields])
            for title, names in self.FIELDSETS
        ]

    def clean_eligibility(self):
        text = self.cleaned_data["eligibility"].strip()
        if not text:
            return []
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                _("Not valid JSON (line %(line)s, column %(column)s): %(error)s")
                % {"line": exc.lineno, "column": exc.colno, "error": exc.msg}
            ) from exc

    def values(self) -> dict:
        """The cleaned data as the services take it."""
        data = dict(self.cleaned_data)
        data["target_regions"] = list(data["target_regions"])
        return data


class PeriodForm(FormMixin, forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=20,
        help_text=gettext_lazy('e.g. "2026" or "2026-S1"'),
    )
    starts_on = forms.DateField(
        label=gettext_lazy("Starts on"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    ends_on = forms.DateField(
        label=gettext_lazy("Ends on"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    quota = forms.IntegerField(
        label=gettext_lazy("Quota (households)"),
        required=False,
        help_text=gettext_lazy("Empty: no limit."),
    )
    budget = forms.IntegerField(
        label=gettext_lazy("Budget (Rp)"),
        required=False,
        help_text=gettext_lazy("Whole rupiah; empty: no limit."),
        error_messages={
            "invalid": gettext_lazy(
                "Enter whole rupiah as digits only, without decimals, dots or spaces."
            )
        },
    )


def add_errors(exc: ValidationError, form: forms.Form) -> None:
    """A service's field errors next to their fields; "eligibility[0].op" goes to eligibility
    with its path; anything else on top of the form."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for key, messages_ in exc.message_dict.items():
        field = key.split("[", 1)[0].split(".", 1)[0]
        if field in form.fields:
            path = key[len(field) :].lstrip(".")
            form.add_error(field, [f"{path}: {m}" if path else m for m in messages_])
        else:
            form.add_error(None, messages_)


def _run(call, form):
    return run_service(call, form, lambda exc: add_errors(exc, form))


# --- helpers ----------------------------------------------------------------------------------


def _reader(request) -> Access:
    access = access_for(request.user)
    if not catalogue.reads_catalogue(access):
        raise PermissionDenied
    return access


def _programme(request, code: str) -> Programme:
    try:
        return catalogue.programme_detail(request.user, code)
    except Programme.DoesNotExist as exc:
        raise Http404 from exc


def _rupiah(value) -> str:
    return "" if value is None else format_rupiah(value)


def _describe(programme: Programme) -> None:
    """What a row or a page shows of a programme, in words (reads prefetched data only)."""
    programme.needs_text = catalogue.needs_in_words(programme.needs)
    programme.funding_text = catalogue.funding_in_words(programme.funding_sources)
    programme.unit_value_text = format_rupiah(programme.unit_value)
    programme.region_names = [r.name for r in programme.target_regions.all()]


def _periods(programme: Programme) -> list:
    periods = list(programme.periods.all())
    for period in periods:
        period.budget_text = _rupiah(period.budget)
        period.quota_text = "" if period.quota is None else f"{period.quota:,}".replace(",", ".")
    return periods


# --- pages ------------------------------------------------------------------------------------


@require_GET
@login_required
def programme_list(request):
    access = _reader(request)
    params = request.GET.copy()
    params.pop("page", None)
    filterset = catalogue.ProgrammeFilter(params, queryset=catalogue.programme_list(request.user))
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    for programme in page:
        _describe(programme)
    context = {
        "page": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1),
        "query": page_query(params),
        "form": style_filter_form(filterset.form),
        "can_create": catalogue.creates_programmes(access),
    }
    partial = request.htmx and not request.htmx.history_restore_request
    template = "programmes/partials/_table.html" if partial else "programmes/list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_GET
@login_required
def programme_detail(request, code: str):
    access = _reader(request)
    programme = _programme(request, code)
    _describe(programme)
    periods = _periods(programme)
    can_edit = catalogue.edits_programme(access, programme)
    return render(
        request,
        "programmes/detail.html",
        {
            "programme": programme,
            "periods": periods,
            "eligibility_text": catalogue.eligibility_in_words(programme.eligibility),
            "can_edit": can_edit,
        },
    )


@require_http_methods(["GET", "POST"])
@login_required
def programme_create(request):
    access = _reader(request)
    if not catalogue.creates_programmes(access):
        raise PermissionDenied
    status = 200
    if request.method == "POST":
        form = ProgrammeForm(request.POST)
        if form.is_valid():
            programme, status = _run(
                lambda: catalogue.programme_create(actor=request.user, **form.values()), form
            )
            if programme is not None:
                messages.success(
                    request, _("Programme %(code)s was added.") % {"code": programme.code}
                )
                return redirect("programmes:detail", programme.code)
    else:
        form = ProgrammeForm()
    return render(request, "programmes/form.html", {"form": form, "programme": None}, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def programme_edit(request, code: str):
    access = _reader(request)
    programme = _programme(request, code)
    if not catalogue.edits_programme(access, programme):
        raise PermissionDenied
    may_move = catalogue.creates_programmes(access)
    status = 200
    if request.method == "POST":
        form = ProgrammeForm(request.POST, programme=programme, may_move=may_move)
        if form.is_valid():
            saved, status = _run(
                lambda: catalogue.programme_update(
                    actor=request.user, programme=programme, **form.values()
                ),
                form,
            )
            if saved is not None:
                messages.success(request, _("The programme was saved."))
                return redirect("programmes:detail", saved.code)
    else:
        form = ProgrammeForm(
            initial=ProgrammeForm.initial_for(programme), programme=programme, may_move=may_move
        )
    return render(
        request,
        "programmes/form.html",
        {"form": form, "programme": programme},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@login_required
def period_create(request, code: str):
    access = _reader(request)
    programme = _programme(request, code)
    if not catalogue.edits_programme(access, programme):
        raise PermissionDenied
    status = 200
    if request.method == "POST":
        form = PeriodForm(request.POST)
        if form.is_valid():
            period, status = _run(
                lambda: catalogue.programme_period_create(
                    actor=request.user, programme=programme, **form.cleaned_data
                ),
                form,
            )
            if period is not None:
                messages.success(request, _("Period %(name)s was added.") % {"name": period.name})
                return redirect("programmes:detail", programme.code)
    else:
        form = PeriodForm()
    return render(
        request,
        "programmes/period_form.html",
        {"form": form, "programme": programme, "periods": _periods(programme)},
        status=status,
    )
