"""HTML pages of CSR funding, mounted at /pledges/ (app "pledges"): thin views over
``interventions.pledges`` (writes) and ``interventions.pledge_selectors`` (scoped reads).

- The pledge list with filters and realisation bars; a pledge's page: pledged, disbursed and
  spent as amounts and bars, its disbursements, the deliveries it paid for (never a name, a NIK
  or a household; staff also see the kecamatan and a link to the referral they may open) and
  the actions the user may take.
- Forms: a pledge (provincial administrators for any company; a CSR partner drafts its own
  company's pledges and edits or cancels its drafts), a disbursement (provincial
  administrators), activate, close, cancel with a reason.
- The CSR partner's dashboard (its landing page): its company's pledges and the households they
  reached by stage, kabupaten/kota and kecamatan, with small cells suppressed.

Outside the user's scope a pledge does not exist (404); a role without the right gets 403.
"""

from functools import partial

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from opd.access import Access, access_for
from opd.models import Organisation, OrganisationKind, Role
from povertycase.views_util import page_query
from regions.models import Level, Region

from . import pledge_selectors as selectors
from . import pledges as services
from .forms import FormMixin
from .models import Pledge, PledgeStatus, Programme, ProgrammeTier
from .money import format_rupiah
from .referral_selectors import referrals_visible_to
from .view_actions import (
    RUPIAH_INVALID,
    ActionForm,
    ReasonForm,
    is_partial,
    post_action,
    run_on_form,
    style_filter_form,
)

PAGE_SIZE = 25


# --- access -----------------------------------------------------------------------------------


def _reader(request) -> Access:
    access = access_for(request.user)
    if not selectors.reads_pledges(access):
        raise PermissionDenied
    return access


def _pledge(request, pk: int) -> Pledge:
    try:
        return selectors.pledge_detail(request.user, pk)
    except Pledge.DoesNotExist as exc:
        raise Http404 from exc


def _describe(pledge: Pledge) -> Pledge:
    money = selectors.realisation(pledge)
    pledge.money = money
    pledge.amount_text = format_rupiah(pledge.amount)
    pledge.disbursed_text = format_rupiah(money.disbursed)
    pledge.spent_text = format_rupiah(money.spent)
    pledge.available_text = format_rupiah(money.available)
    pledge.undisbursed_text = format_rupiah(money.undisbursed)
    return pledge


# --- forms ------------------------------------------------------------------------------------

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def region_choices(extra: Region | None = None) -> list[tuple[str, str]]:
    """Kabupaten/kota and their kecamatan (indented), plus ``extra`` (e.g. a desa)."""
    choices = [("", _("Whole province"))]
    regions = Region.objects.filter(level__in=(Level.REGENCY, Level.DISTRICT)).order_by("code")
    for region in regions.only("code", "name", "level"):
        indent = "\u2003" if region.level == Level.DISTRICT else ""
        choices.append((region.code, f"{indent}{region.code} {region.name}"))
    if extra is not None and extra.code not in {code for code, _label in choices}:
        choices.append((extra.code, f"{extra.code} {extra.name}"))
    return choices


class PledgeForm(FormMixin, forms.Form):
    company = forms.ModelChoiceField(
        label=gettext_lazy("Company (CSR)"), queryset=Organisation.objects.none(), empty_label="—"
    )
    title = forms.CharField(
        label=gettext_lazy("Title"),
        max_length=200,
        help_text=gettext_lazy('e.g. "Clean water for Lebak 2026"'),
    )
    amount = forms.IntegerField(
        label=gettext_lazy("Amount pledged (Rp)"),
        help_text=gettext_lazy("Whole rupiah, digits only (e.g. 500000000)."),
        error_messages={"invalid": RUPIAH_INVALID},
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    starts_on = forms.DateField(label=gettext_lazy("Starts on"), widget=DATE)
    ends_on = forms.DateField(label=gettext_lazy("Ends on"), widget=DATE)
    programme = forms.ModelChoiceField(
        label=gettext_lazy("Target programme"),
        queryset=Programme.objects.none(),
        required=False,
        empty_label=gettext_lazy("Any programme"),
    )
    region = forms.ChoiceField(label=gettext_lazy("Target region"), required=False)
    tier = forms.TypedChoiceField(
        label=gettext_lazy("Target tier"),
        choices=[("", gettext_lazy("Any tier")), *ProgrammeTier.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, access: Access, pledge: Pledge | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        companies = Organisation.objects.filter(kind=OrganisationKind.CSR, is_active=True)
        if not services.manages_pledges(access):
            companies = companies.filter(pk__in=services.csr_companies(access))
        if pledge is not None:
            companies = companies | Organisation.objects.filter(pk=pledge.company_id)
        self.fields["company"].queryset = companies.order_by("short_name")
        self.fields["programme"].queryset = Programme.objects.order_by("tier", "code")
        self.fields["programme"].label_from_instance = lambda p: f"{p.code} · {p.name}"
        self.fields["region"].choices = region_choices(pledge.region if pledge else None)

    @classmethod
    def initial_for(cls, pledge: Pledge) -> dict:
        return {
            "company": pledge.company_id,
            "title": pledge.title,
            "amount": pledge.amount,
            "starts_on": pledge.starts_on,
            "ends_on": pledge.ends_on,
            "programme": pledge.programme_id,
            "region": pledge.region.code if pledge.region_id else "",
            "tier": pledge.tier,
            "note": pledge.note,
        }

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        code = data.pop("region") or None
        data["region"] = Region.objects.filter(code=code).first() if code else None
        return data


class DisbursementForm(FormMixin, forms.Form):
    disbursed_on = forms.DateField(label=gettext_lazy("Disbursed on"), widget=DATE)
    amount = forms.IntegerField(
        label=gettext_lazy("Amount (Rp)"),
        help_text=gettext_lazy("Whole rupiah, digits only."),
        error_messages={"invalid": RUPIAH_INVALID},
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=2000,
        help_text=gettext_lazy("e.g. the bank transfer reference."),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {"disbursed_on": timezone.localdate()})
        super().__init__(*args, **kwargs)
        self.fields["disbursed_on"].widget.attrs["max"] = timezone.localdate().isoformat()


# --- list and detail --------------------------------------------------------------------------


@require_GET
@login_required
def pledge_list(request):
    access = _reader(request)
    params = request.GET.copy()
    params.pop("page", None)
    filterset = selectors.PledgeFilter(
        params, queryset=selectors.pledges_visible_to(request.user), user=request.user
    )
    page = Paginator(selectors.pledge_list(request.user, params), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    for pledge in page:
        _describe(pledge)
    context = {
        "page": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1),
        "query": page_query(params),
        "form": style_filter_form(filterset.form),
        "can_create": services.creates_pledges(access),
        "is_csr": bool(services.csr_companies(access)),
    }
    template = "pledges/partials/_table.html" if is_partial(request) else "pledges/list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _detail_page(request, pledge: Pledge, *, forms_=None, status=200):
    access = access_for(request.user)
    _describe(pledge)
    disbursements = selectors.pledge_disbursements(pledge)
    for disbursement in disbursements:
        disbursement.amount_text = format_rupiah(disbursement.amount)
    deliveries = selectors.funded_deliveries(pledge)
    staff = not services.csr_companies(access) or access.reads_register
    linked = set()
    names = {}
    if staff:
        ids = [row["referral"] for row in deliveries]
        linked = set(
            referrals_visible_to(request.user).filter(pk__in=ids).values_list("pk", flat=True)
        )
        names = dict(
            Region.objects.filter(code__in={row["kecamatan"] for row in deliveries}).values_list(
                "code", "name"
            )
        )
    for row in deliveries:
        row["value_text"] = format_rupiah(row["value"])
        row["kecamatan_name"] = names.get(row["kecamatan"], "") if staff else ""
        row["link"] = row["referral"] in linked
    forms_ = forms_ or {}
    manages = services.manages_pledges(access)
    status_value = str(pledge.status)
    context = {
        "pledge": pledge,
        "disbursements": disbursements,
        "deliveries": deliveries,
        "staff": staff,
        "can_edit": services.edits_pledge(access, pledge),
        "can_activate": manages and status_value == PledgeStatus.DRAFT,
        "can_close": manages and status_value == PledgeStatus.ACTIVE,
        "can_cancel": services.cancels_pledge(access, pledge) and not disbursements,
        "can_disburse": manages and status_value == PledgeStatus.ACTIVE,
        "activate_form": forms_.get("activate") or ActionForm(),
        "close_form": forms_.get("close") or ActionForm(),
        "cancel_form": forms_.get("cancel") or ReasonForm(prefix="cancel"),
    }
    context["hidden_errors"] = [
        error
        for name, form in forms_.items()
        if not context[f"can_{name}"]
        for error in form.non_field_errors()
    ]
    return render(request, "pledges/detail.html", context, status=status)


@require_GET
@login_required
def pledge_detail(request, pk: int):
    _reader(request)
    return _detail_page(request, _pledge(request, pk))


def _action(request, pk: int, name: str, form_class, call, message: str, **form_kwargs):
    _reader(request)
    form = form_class(request.POST, **form_kwargs)
    load = partial(_pledge, request, pk)
    done = reverse("pledges:detail", args=[pk])
    return post_action(
        request, load, _detail_page, name=name, form=form, call=call, message=message, done=done
    )


@require_POST
@login_required
def pledge_activate(request, pk: int):
    return _action(
        request,
        pk,
        "activate",
        ActionForm,
        lambda p, _d: services.pledge_activate(actor=request.user, pledge=p),
        _("The pledge is active: money can be disbursed and spent."),
    )


@require_POST
@login_required
def pledge_close(request, pk: int):
    return _action(
        request,
        pk,
        "close",
        ActionForm,
        lambda p, _d: services.pledge_close(actor=request.user, pledge=p),
        _("The pledge was closed."),
    )


@require_POST
@login_required
def pledge_cancel(request, pk: int):
    return _action(
        request,
        pk,
        "cancel",
        ReasonForm,
        lambda p, d: services.pledge_cancel(actor=request.user, pledge=p, reason=d["reason"]),
        _("The pledge was cancelled."),
        prefix="cancel",
    )


# --- create and edit --------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def pledge_create(request):
    access = _reader(request)
    if not services.creates_pledges(access):
        raise PermissionDenied
    status = 200
    if request.method == "POST":
        form = PledgeForm(request.POST, access=access)
        if form.is_valid():
            pledge, status = run_on_form(
                lambda: services.pledge_create(actor=request.user, **form.values()), form
            )
            if pledge is not None:
                messages.success(request, _("The pledge was recorded as a draft."))
                return redirect("pledges:detail", pledge.pk)
    else:
        initial = {}
        own = sorted(services.csr_companies(access))
        if len(own) == 1 and not services.manages_pledges(access):
            initial["company"] = own[0]
        form = PledgeForm(initial=initial, access=access)
    return render(request, "pledges/form.html", {"form": form, "pledge": None}, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def pledge_edit(request, pk: int):
    access = _reader(request)
    pledge = _pledge(request, pk)
    if not services.edits_pledge(access, pledge):
        raise PermissionDenied
    status = 200
    if request.method == "POST":
        form = PledgeForm(request.POST, access=access, pledge=pledge)
        if form.is_valid():
            saved, status = run_on_form(
                lambda: services.pledge_update(actor=request.user, pledge=pledge, **form.values()),
                form,
            )
            if saved is not None:
                messages.success(request, _("The pledge was saved."))
                return redirect("pledges:detail", pledge.pk)
    else:
        form = PledgeForm(initial=PledgeForm.initial_for(pledge), access=access, pledge=pledge)
    return render(request, "pledges/form.html", {"form": form, "pledge": pledge}, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def disbursement_create(request, pk: int):
    access = _reader(request)
    pledge = _pledge(request, pk)
    if not services.manages_pledges(access):
        raise PermissionDenied
    status = 200
    if request.method == "POST":
        form = DisbursementForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            disbursement, status = run_on_form(
                lambda: services.disbursement_record(
                    actor=request.user,
                    pledge=pledge,
                    disbursed_on=data["disbursed_on"],
                    amount=data["amount"],
                    note=data["note"],
                ),
                form,
            )
            if disbursement is not None:
                messages.success(
                    request,
                    _("%(amount)s disbursed was recorded.")
                    % {"amount": format_rupiah(disbursement.amount)},
                )
                return redirect("pledges:detail", pledge.pk)
    else:
        form = DisbursementForm()
    _describe(pledge)
    return render(
        request, "pledges/disbursement_form.html", {"form": form, "pledge": pledge}, status=status
    )


# --- the CSR partner's dashboard --------------------------------------------------------------


@require_GET
@login_required
def dashboard(request):
    """A company's pledges and outcomes: the CSR partner's own company; a provincial
    administrator or auditor picks any company (``?company=<short name>``)."""
    access = _reader(request)
    own = services.csr_companies(access)
    if access.has_role(Role.PROVINCIAL_ADMIN, Role.AUDITOR):
        choices = Organisation.objects.filter(kind=OrganisationKind.CSR)
    elif own:
        choices = Organisation.objects.filter(pk__in=own)
    else:
        raise PermissionDenied
    choices = list(choices.order_by("short_name").only("pk", "name", "short_name"))
    wanted = request.GET.get("company", "")
    company = next((c for c in choices if c.short_name == wanted), None)
    if wanted and company is None:
        raise Http404
    company = company or (choices[0] if choices else None)
    pledges = []
    outcomes = None
    if company is not None:
        pledges = [
            _describe(p) for p in selectors.pledge_list(request.user).filter(company=company)
        ]
        outcomes = selectors.company_outcomes([company.pk])
    # Drafts are not accepted yet and cancelled pledges never will be: not in the totals.
    counted = [p for p in pledges if p.status in (PledgeStatus.ACTIVE, PledgeStatus.CLOSED)]
    totals = {
        "amount": format_rupiah(sum(p.amount for p in counted)),
        "disbursed": format_rupiah(sum(p.money.disbursed for p in counted)),
        "spent": format_rupiah(sum(p.money.spent for p in counted)),
    }
    context = {
        "company": company,
        "companies": choices if len(choices) > 1 else [],
        "pledges": pledges,
        "outcomes": outcomes,
        "totals": totals,
        "can_create": services.creates_pledges(access),
    }
    return render(request, "pledges/dashboard.html", context)
