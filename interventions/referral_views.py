"""HTML pages of referrals (rujukan) and deliveries: thin views over ``interventions.referrals``.

- The referral list with filters, for the register's readers (their area) and OPD officers (their
  agency's programmes); a referral's page with its deliveries and the actions the user may take:
  accept, reject with a reason, log a delivery (with a photo or document as evidence), complete,
  cancel with a reason.
- The referral form (``/referrals/new/?household=<pk>``): programmes that meet one of the
  household's unmet needs, the need, and a member for person-level programmes.
- The OPD officer's inbox: open referrals of their agency, overdue first, each with a compact
  delivery form that works on a phone, and the agency's totals.
- The gap finder: households with an unmet need and no referral for it, with the programmes that
  could meet it; tick several and refer them at once.

Reads go through ``interventions.referral_selectors`` (outside the user's scope: 404; a role
without the right: 403). Writes go through the services; their errors are shown next to the
fields and nothing is written.
"""

from functools import partial

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from households.choices import MemberStatus, Relationship
from households.identity import mask
from households.models import Household, Member
from opd.access import Access, access_for, reachable_regions
from opd.models import Role
from povertycase.views_util import page_query
from regions.models import Level

from . import referral_selectors as selectors
from . import referrals as services
from .forms import FormMixin
from .models import OPEN_STATUSES, Case, Delivery, Programme, Referral
from .money import format_rupiah
from .pledge_selectors import fundable_pledges, pledges_for, realisation
from .programmes import PROGRAMME_NEED_NAMES, PROGRAMME_NEEDS, needs_in_words
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
#: Needs that are not deprivations of the assessment: a programme meeting them may always be
#: offered (skills training for tier 2, group business for tier 3).
EMPOWERMENT_NEEDS = ("training", "business")


# --- access -----------------------------------------------------------------------------------


def _reader(request) -> Access:
    """Referrals hold personal data: the register's readers and OPD officers; others 403."""
    access = access_for(request.user)
    if not (access.reads_register or access.has_role(Role.OPD_OFFICER)):
        raise PermissionDenied
    return access


def decides(access: Access, referral: Referral) -> bool:
    """Accept, reject, log deliveries, complete: the owning agency's officers and provincial
    administrators (the services check again)."""
    return services.decides(access, referral.programme)


def cancels(access: Access, referral: Referral) -> bool:
    return decides(access, referral) or services.refers(access, referral.household)


# --- forms ------------------------------------------------------------------------------------


class ReferralForm(FormMixin, forms.Form):
    programme = forms.ModelChoiceField(
        label=gettext_lazy("Programme"), queryset=Programme.objects.none(), empty_label="—"
    )
    need = forms.ChoiceField(label=gettext_lazy("Need it meets"))
    member = forms.ModelChoiceField(
        label=gettext_lazy("Member"),
        queryset=Member.objects.none(),
        required=False,
        empty_label=gettext_lazy("The whole household"),
        help_text=gettext_lazy("Only for programmes for one person (training, schooling)."),
    )
    due_on = forms.DateField(
        label=gettext_lazy("Due on"),
        required=False,
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
        help_text=gettext_lazy("Empty: 30 days from today."),
    )
    note = forms.CharField(
        label=gettext_lazy("Note for the agency"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, household: Household, unmet_needs: list[str] | None, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        programmes = (
            Programme.objects.running(today).select_related("owner").order_by("tier", "code")
        )
        needs = list(PROGRAMME_NEEDS)
        if unmet_needs is not None:
            needs = [n for n in PROGRAMME_NEEDS if n in unmet_needs or n in EMPOWERMENT_NEEDS]
            wanted = set(needs)
            programmes = [p for p in programmes if wanted.intersection(p.needs or ())]
        # Only what the household may be referred to (the service checks again when saving).
        ids = [p.pk for p in services.referable_programmes(household, programmes)]
        programmes = Programme.objects.filter(pk__in=ids).select_related("owner")
        self.fields["programme"].queryset = programmes.order_by("tier", "code")
        self.fields["programme"].label_from_instance = lambda p: (
            f"{p.code} · {p.name} ({p.owner.short_name})"
        )
        self.fields["need"].choices = [("", "—")] + [(n, PROGRAMME_NEED_NAMES[n]) for n in needs]
        self.fields["member"].queryset = Member.objects.filter(
            household=household, status=MemberStatus.ACTIVE
        ).order_by("pk")
        self.fields["member"].label_from_instance = lambda m: m.name


class DeliveryForm(FormMixin, forms.Form):
    delivered_on = forms.DateField(
        label=gettext_lazy("Delivered on"),
        widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}),
    )
    quantity = forms.IntegerField(
        label=gettext_lazy("Quantity"),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={"invalid": gettext_lazy("Enter a whole number.")},
    )
    value = forms.IntegerField(
        label=gettext_lazy("Value (Rp)"),
        help_text=gettext_lazy("Whole rupiah, digits only (e.g. 200000)."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={"invalid": RUPIAH_INVALID},
    )
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=2000)
    evidence = forms.FileField(
        label=gettext_lazy("Evidence (photo or PDF)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,.pdf"}),
    )

    def __init__(self, *args, referral: Referral | None = None, pledges=(), **kwargs):
        """``pledges``: the CSR pledges that may pay for this referral's deliveries
        (``pledge_selectors.pledges_for``); the field shows only when there are some."""
        if not args and "data" not in kwargs and referral is not None:
            kwargs.setdefault(
                "initial",
                {
                    "delivered_on": timezone.localdate(),
                    "quantity": 1,
                    "value": referral.programme.unit_value,
                },
            )
        super().__init__(*args, **kwargs)
        self.fields["delivered_on"].widget.attrs["max"] = timezone.localdate().isoformat()
        self.pledges = {pledge.pk: pledge for pledge in pledges}
        # A pledge sent when none may pay any more is refused, never silently dropped.
        if self.pledges or (self.is_bound and self.data.get(self.add_prefix("pledge"))):
            self.fields["pledge"] = forms.TypedChoiceField(
                label=gettext_lazy("Paid by a CSR pledge"),
                required=False,
                coerce=int,
                empty_value=None,
                choices=[("", _("No pledge"))]
                + [(pledge.pk, pledge_choice_label(pledge)) for pledge in pledges],
                widget=forms.Select(attrs={"class": "form-select"}),
            )

    def chosen_pledge(self):
        pk = self.cleaned_data.get("pledge")
        return self.pledges.get(pk) if pk else None


# --- reads ------------------------------------------------------------------------------------


def _with_head(qs):
    """Annotate each referral with its household head's name (one subquery, no extra query)."""
    head = Member.objects.filter(
        household=OuterRef("household_id"),
        relationship=Relationship.HEAD,
        status=MemberStatus.ACTIVE,
    ).values("name")[:1]
    return qs.annotate(head_name=Subquery(head))


def _describe(referral: Referral, today) -> Referral:
    """What a row or a page shows, in words (reads selected data only)."""
    referral.need_text = ", ".join(str(n) for n in needs_in_words([referral.need]))
    referral.kk_masked = mask(referral.household.no_kk)
    referral.planned_text = format_rupiah(referral.planned_value)
    delivered = getattr(referral, "delivered_value", None)
    referral.delivered_text = format_rupiah(delivered) if delivered else ""
    referral.overdue = referral.status in OPEN_STATUSES and referral.due_on < today
    return referral


def _referral(request, pk: int) -> Referral:
    qs = _with_head(
        selectors.referrals_visible_to(request.user).select_related(
            "household__desa",
            "member",
            "programme__owner",
            "period",
            "referred_by",
            "decided_by",
            "closed_by",
        )
    )
    try:
        return qs.get(pk=pk)
    except Referral.DoesNotExist as exc:
        raise Http404 from exc


# --- list and detail --------------------------------------------------------------------------


@require_GET
@login_required
def referral_list(request):
    access = _reader(request)
    params = request.GET.copy()
    params.pop("page", None)
    filterset = selectors.ReferralFilter(
        params, queryset=selectors.referrals_visible_to(request.user)
    )
    qs = _with_head(selectors.referral_list(request.user, params))
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    for referral in page:
        _describe(referral, today)
    context = {
        "page": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1),
        "query": page_query(params),
        "form": style_filter_form(filterset.form),
        "can_refer": services.refers(access),
        "is_officer": Role.OPD_OFFICER in access.roles,
    }
    template = "referrals/partials/_table.html" if is_partial(request) else "referrals/list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _detail_page(request, referral: Referral, *, forms_=None, status=200):
    access = access_for(request.user)
    today = timezone.localdate()
    _describe(referral, today)
    deliveries = list(
        Delivery.objects.filter(referral=referral)
        .select_related("logged_by", "funding__pledge__company")
        .order_by("delivered_on", "pk")
    )
    total = 0
    for delivery in deliveries:
        delivery.value_text = format_rupiah(delivery.value)
        total += delivery.value
    is_open = referral.status in OPEN_STATUSES
    may_decide = decides(access, referral)
    forms_ = forms_ or {}
    status_value = str(referral.status)
    context = {
        "referral": referral,
        "deliveries": deliveries,
        "delivered_total": format_rupiah(total),
        "can_accept": may_decide and status_value == "referred",
        "can_reject": may_decide and status_value == "referred",
        "can_deliver": may_decide and status_value == "accepted",
        "can_complete": may_decide and status_value == "accepted" and bool(deliveries),
        "can_cancel": is_open and cancels(access, referral),
        "accept_form": forms_.get("accept") or ActionForm(),
        "reject_form": forms_.get("reject") or ReasonForm(prefix="reject"),
        "delivery_form": forms_.get("deliver")
        or DeliveryForm(referral=referral, pledges=_pledges(request, referral, may_decide)),
        "complete_form": forms_.get("complete") or ActionForm(),
        "cancel_form": forms_.get("cancel") or ReasonForm(prefix="cancel"),
        "household_link": access.reads_register,
    }
    # Errors of an action the page no longer offers (the state changed meanwhile) go on top.
    context["hidden_errors"] = [
        error
        for name, form in forms_.items()
        if not context[f"can_{name}"]
        for error in form.non_field_errors()
    ]
    return render(request, "referrals/detail.html", context, status=status)


@require_GET
@login_required
def referral_detail(request, pk: int):
    _reader(request)
    return _detail_page(request, _referral(request, pk))


def _action(request, pk: int, name: str, form_class, call, message: str, **form_kwargs):
    _reader(request)
    form = form_class(request.POST, **form_kwargs)
    load = partial(_referral, request, pk)
    done = reverse("referrals:detail", args=[pk])
    return post_action(
        request, load, _detail_page, name=name, form=form, call=call, message=message, done=done
    )


@require_POST
@login_required
def referral_accept(request, pk: int):
    return _action(
        request,
        pk,
        "accept",
        ActionForm,
        lambda r, _d: services.referral_accept(actor=request.user, referral=r),
        _("The referral was accepted."),
    )


@require_POST
@login_required
def referral_reject(request, pk: int):
    return _action(
        request,
        pk,
        "reject",
        ReasonForm,
        lambda r, d: services.referral_reject(actor=request.user, referral=r, reason=d["reason"]),
        _("The referral was rejected."),
        prefix="reject",
    )


@require_POST
@login_required
def referral_complete(request, pk: int):
    return _action(
        request,
        pk,
        "complete",
        ActionForm,
        lambda r, _d: services.referral_complete(actor=request.user, referral=r),
        _("The referral was completed. The household's stage is being recalculated."),
    )


@require_POST
@login_required
def referral_cancel(request, pk: int):
    return _action(
        request,
        pk,
        "cancel",
        ReasonForm,
        lambda r, d: services.referral_cancel(actor=request.user, referral=r, reason=d["reason"]),
        _("The referral was cancelled."),
        prefix="cancel",
    )


def _log_delivery(request, referral: Referral, form: DeliveryForm):
    data = form.cleaned_data
    return run_on_form(
        lambda: services.delivery_log(
            actor=request.user,
            referral=referral,
            delivered_on=data["delivered_on"],
            quantity=data["quantity"],
            value=data["value"],
            note=data["note"],
            evidence=data["evidence"] or None,
            pledge=form.chosen_pledge(),
        ),
        form,
    )


@require_POST
@login_required
def delivery_create(request, pk: int):
    """Log a delivery, from the referral's page or (htmx) from a row of the inbox."""
    access = _reader(request)
    referral = _referral(request, pk)
    from_inbox = request.POST.get("from") == "inbox"
    prefix = _inbox_prefix(referral) if from_inbox else None
    pledges = _pledges(request, referral, True)
    form = DeliveryForm(
        request.POST, request.FILES, referral=referral, prefix=prefix, pledges=pledges
    )
    status = 200
    delivery = None
    if form.is_valid():
        delivery, status = _log_delivery(request, referral, form)
    if from_inbox and is_partial(request):
        referral = _with_head(selectors.opd_inbox(request.user)).filter(pk=pk).first() or (
            _referral(request, pk)
        )
        _describe(referral, timezone.localdate())
        fresh = DeliveryForm(referral=referral, prefix=prefix, pledges=pledges)
        context = {
            "referral": referral,
            "form": fresh if delivery is not None else form,
            "logged": delivery,
            "may_decide": decides(access, referral),
        }
        return render(request, "referrals/partials/_inbox_row.html", context, status=status)
    if delivery is not None:
        messages.success(request, _("The delivery was logged."))
        if from_inbox:
            return redirect("referrals:inbox")
        return redirect("referrals:detail", referral.pk)
    return _detail_page(request, _referral(request, pk), forms_={"deliver": form}, status=status)


def _pledges(request, referral: Referral, may_decide: bool) -> list:
    """The CSR pledges that may pay for a delivery on this referral (none: no field)."""
    if not may_decide or str(referral.status) != "accepted":
        return []
    return pledges_for(fundable_pledges(request.user), referral)


def pledge_choice_label(pledge) -> str:
    return _("%(company)s · %(title)s (%(available)s available)") % {
        "company": pledge.company.short_name,
        "title": pledge.title,
        "available": format_rupiah(realisation(pledge).available),
    }


def _inbox_prefix(referral: Referral) -> str:
    """Each inbox row's form has its own field ids."""
    return f"r{referral.pk}"


@require_GET
@login_required
def delivery_evidence(request, pk: int):
    """A delivery's evidence file, read through the referral scope (never a public media URL)."""
    _reader(request)
    delivery = (
        Delivery.objects.filter(referral__in=selectors.referrals_visible_to(request.user))
        .only("evidence")
        .filter(pk=pk)
        .first()
    )
    if delivery is None or not delivery.evidence:
        raise Http404
    try:
        handle = delivery.evidence.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    name = delivery.evidence.name.rsplit("/", 1)[-1]
    response = FileResponse(handle, filename=name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    )
    return response


# --- create -----------------------------------------------------------------------------------


def _unmet_needs(household: Household) -> list[str] | None:
    """The latest assessment's unmet needs, or None when the household was never assessed."""
    case = Case.objects.filter(pk=household.pk).select_related("latest_assessment").first()
    if case is None or case.latest_assessment is None:
        return None
    return list(case.latest_assessment.unmet_needs or [])


@require_http_methods(["GET", "POST"])
@login_required
def referral_create(request):
    access = _reader(request)
    if not services.refers(access):
        raise PermissionDenied
    try:
        household_pk = int(request.GET.get("household", ""))
    except ValueError as exc:
        raise Http404 from exc
    household = (
        Household.objects.visible_to(request.user).select_related("desa").filter(pk=household_pk)
    ).first()
    if household is None:
        raise Http404
    unmet = _unmet_needs(household)
    status = 200
    if request.method == "POST":
        form = ReferralForm(request.POST, household=household, unmet_needs=unmet)
        if form.is_valid():
            data = form.cleaned_data
            referral, status = run_on_form(
                lambda: services.referral_create(
                    actor=request.user,
                    household=household,
                    programme=data["programme"],
                    need=data["need"],
                    member=data["member"],
                    note=data["note"],
                    due_on=data["due_on"],
                ),
                form,
            )
            if referral is not None:
                messages.success(
                    request,
                    _("The household was referred to %(programme)s.")
                    % {"programme": referral.programme.code},
                )
                return redirect("referrals:detail", referral.pk)
    else:
        initial = {k: request.GET[k] for k in ("need",) if request.GET.get(k)}
        code = request.GET.get("programme")
        if code:
            initial["programme"] = (
                Programme.objects.filter(code=code).values_list("pk", flat=True).first()
            )
        form = ReferralForm(initial=initial, household=household, unmet_needs=unmet)
    context = {
        "form": form,
        "household": household,
        "kk_masked": mask(household.no_kk),
        "unmet_text": needs_in_words(unmet) if unmet is not None else None,
    }
    return render(request, "referrals/form.html", context, status=status)


# --- OPD inbox --------------------------------------------------------------------------------


@require_GET
@login_required
def inbox(request):
    access = _reader(request)
    if not access.has_role(Role.OPD_OFFICER):
        raise PermissionDenied
    today = timezone.localdate()
    referrals = list(_with_head(selectors.opd_inbox(request.user)))
    fundable = fundable_pledges(request.user)
    rows = []
    for referral in referrals:
        _describe(referral, today)
        rows.append(
            {
                "referral": referral,
                "form": DeliveryForm(
                    referral=referral,
                    prefix=_inbox_prefix(referral),
                    pledges=pledges_for(fundable, referral),
                )
                if str(referral.status) == "accepted"
                else None,
                "may_decide": decides(access, referral),
            }
        )
    totals = list(selectors.agency_totals(request.user))
    for total in totals:
        _describe_total(total)
    context = {
        "rows": rows,
        "overdue_count": sum(1 for r in referrals if r.overdue),
        "totals": totals,
    }
    return render(request, "referrals/inbox.html", context)


def _describe_total(total) -> None:
    value = total.get("delivered_value") if isinstance(total, dict) else None
    if isinstance(total, dict):
        total["delivered_text"] = format_rupiah(value or 0)


# --- gap finder -------------------------------------------------------------------------------


class GapFilterForm(forms.Form):
    region = forms.ChoiceField(label=gettext_lazy("Region"), required=False)
    need = forms.ChoiceField(label=gettext_lazy("Need"), required=False)

    def __init__(self, *args, access: Access, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("All my area"))]
        for level in (Level.REGENCY, Level.DISTRICT):
            for region in reachable_regions(access, level=level).only("code", "name", "level"):
                if access.covers(region.code):
                    indent = "\u2003" if level == Level.DISTRICT else ""
                    choices.append((region.code, f"{indent}{region.code} {region.name}"))
        choices.sort(key=lambda c: c[0])
        self.fields["region"].choices = choices
        self.fields["need"].choices = [("", _("Any need"))] + [
            (n, PROGRAMME_NEED_NAMES[n]) for n in PROGRAMME_NEEDS
        ]
        style_filter_form(self)


class BulkReferForm(FormMixin, forms.Form):
    programme = forms.ModelChoiceField(
        label=gettext_lazy("Programme"), queryset=Programme.objects.none(), empty_label="—"
    )
    need = forms.ChoiceField(label=gettext_lazy("Need"), choices=[("", "—")])
    households = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Households"), coerce=int, choices=()
    )

    def __init__(self, *args, programmes, households=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["programme"].queryset = programmes
        self.fields["programme"].label_from_instance = lambda p: (
            f"{p.code} · {p.name} ({p.owner.short_name})"
        )
        self.fields["need"].choices = [("", "—")] + [
            (n, PROGRAMME_NEED_NAMES[n]) for n in PROGRAMME_NEEDS
        ]
        self.fields["households"].choices = [(pk, pk) for pk in households]


def _gap_rows(request, filter_form) -> list:
    code = need = None
    if filter_form.is_valid():
        code = filter_form.cleaned_data["region"] or None
        need = filter_form.cleaned_data["need"] or None
    rows = list(selectors.gap_rows(request.user, region_code=code, need=need))
    heads = dict(
        Member.objects.filter(
            household_id__in={row["household"].pk for row in rows},
            relationship=Relationship.HEAD,
            status=MemberStatus.ACTIVE,
        ).values_list("household_id", "name")
    )
    for row in rows:
        household = row["household"]
        row["head_name"] = heads.get(household.pk, "")
        row["kk_masked"] = mask(household.no_kk)
        row["need_text"] = PROGRAMME_NEED_NAMES.get(row["need"], row["need"])
    return rows


def _gaps_page(request, access, *, bulk_form=None, status=200):
    filter_form = GapFilterForm(request.GET or None, access=access)
    rows = _gap_rows(request, filter_form)
    need = filter_form.cleaned_data.get("need") if filter_form.is_valid() else ""
    can_refer = services.refers(access)
    if can_refer and bulk_form is None and need:
        programmes = _suggested(rows)
        bulk_form = BulkReferForm(
            initial={"need": need, "programme": programmes[0].pk if programmes else None},
            programmes=Programme.objects.filter(pk__in=[p.pk for p in programmes]).select_related(
                "owner"
            ),
        )
    context = {
        "filter_form": filter_form,
        "rows": rows,
        "need": need,
        "can_refer": can_refer,
        "bulk_form": bulk_form,
        "query": page_query(request.GET),
    }
    template = "referrals/partials/_gaps.html" if is_partial(request) else "referrals/gaps.html"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _suggested(rows) -> list[Programme]:
    """The programmes suggested in the rows, most often suggested first (ties: best first)."""
    counts: dict[int, list] = {}
    for row in rows:
        for rank, programme in enumerate(row["programmes"]):
            entry = counts.setdefault(programme.pk, [programme, 0, rank])
            entry[1] += 1
            entry[2] = min(entry[2], rank)
    ordered = sorted(counts.values(), key=lambda e: (-e[1], e[2], e[0].code))
    return [e[0] for e in ordered]


@require_GET
@login_required
def gaps(request):
    access = _reader(request)
    if not access.reads_register:
        raise PermissionDenied
    return _gaps_page(request, access)


@require_POST
@login_required
def gaps_refer(request):
    """Refer the ticked households to one programme for one need (all or nothing)."""
    access = _reader(request)
    if not services.refers(access):
        raise PermissionDenied
    ids = []
    for value in request.POST.getlist("households"):
        try:
            ids.append(int(value))
        except ValueError:
            continue
    visible = {
        h.pk: h
        for h in Household.objects.visible_to(request.user)
        .select_related("desa")
        .filter(pk__in=ids)
    }
    programmes = Programme.objects.running(timezone.localdate()).select_related("owner")
    form = BulkReferForm(request.POST, programmes=programmes, households=list(visible))
    status = 200
    if form.is_valid():
        data = form.cleaned_data
        chosen = [visible[pk] for pk in data["households"]]
        created, status = run_on_form(
            lambda: services.referrals_create_bulk(
                actor=request.user,
                programme=data["programme"],
                need=data["need"],
                households=chosen,
            ),
            form,
        )
        if created is not None:
            messages.success(
                request,
                ngettext(
                    "%(count)d household was referred to %(programme)s.",
                    "%(count)d households were referred to %(programme)s.",
                    len(created),
                )
                % {"count": len(created), "programme": data["programme"].code},
            )
            url = reverse("referrals:gaps")
            query = request.GET.urlencode()
            return redirect(f"{url}?{query}" if query else url)
    return _gaps_page(request, access, bulk_form=form, status=status)
