"""HTML pages of tier 3: groups, KUR pipeline, graduations and follow-ups (relapse alerts).

Thin over the services (``groups``, ``kur``, ``graduation``) and ``group_selectors`` (outside a
user's scope: 404; a role without the right: 403). A refused write shows the service's message
next to the field and writes nothing.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from households.models import Member
from opd.access import Access, access_for
from povertycase.views_util import page_query
from regions.models import Region

from . import graduation as graduation_services
from . import group_selectors as selectors
from . import groups as group_services
from . import kur as kur_services
from .group_forms import (
    BusinessRecordForm,
    GroupForm,
    KurForm,
    KurMoveForm,
    MemberAddForm,
    RepaymentForm,
    ResolveForm,
    StatusForm,
)
from .models import BusinessGroup, GroupMembership, GroupStatus, KurApplication, KurStatus
from .view_actions import is_partial, post_action, run_on_form, style_filter_form

PAGE_SIZE = 25
BOARD_LIMIT = 300  # cards on the KUR board; narrow with the filters beyond that
BOARD_COLUMNS = [
    (KurStatus.PREPARED, KurStatus.SUBMITTED),
    (KurStatus.APPROVED, KurStatus.DISBURSED),
    (KurStatus.REPAYING,),
    (KurStatus.IN_ARREARS, KurStatus.DEFAULTED),
    (KurStatus.REPAID, KurStatus.REJECTED),
]


def _reader(request) -> Access:
    access = access_for(request.user)
    if not selectors.reads_groups(access):
        raise PermissionDenied
    return access


def _register_reader(request) -> Access:
    access = access_for(request.user)
    if not access.reads_register:
        raise PermissionDenied
    return access


# Filters that only the API needs (ids and codes); the pages offer selects instead.
API_ONLY_FILTERS = ("region", "group", "household", "application")


def _page_filters(form):
    for name in API_ONLY_FILTERS:
        form.fields.pop(name, None)
    return style_filter_form(form)


def _list_context(request, qs, filterset_class, base_qs):
    params = request.GET.copy()
    params.pop("page", None)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return {
        "page": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1),
        "query": page_query(params),
        "form": _page_filters(filterset_class(params, queryset=base_qs).form),
    }


def _render_list(request, full: str, partial: str, context):
    response = render(request, partial if is_partial(request) else full, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


# --- groups -----------------------------------------------------------------------------------


@require_GET
@login_required
def group_list(request):
    access = _reader(request)
    params = request.GET.copy()
    params.pop("page", None)
    qs = selectors.group_list(request.user, params)
    context = _list_context(request, qs, selectors.GroupFilter, selectors.BusinessGroup.objects)
    context["can_create"] = access.has_role(*group_services.EDITORS)
    return _render_list(request, "groups/list.html", "groups/partials/_table.html", context)


def _visible_group(request, pk) -> BusinessGroup:
    return get_object_or_404(
        selectors.groups_visible_to(request.user).select_related("desa", "facilitator"), pk=pk
    )


def chart(records, width=560, height=160) -> dict:
    """A small bar chart (inline SVG) of revenue, costs and profit per month, oldest first."""
    records = sorted(records, key=lambda r: r.month)[-12:]
    if not records:
        return {}
    top = max(max(r.revenue, r.costs) for r in records) or 1
    slot = width / len(records)
    bar = max(2.0, slot / 4)
    scale = (height - 20) / top
    bars = []
    for index, record in enumerate(records):
        x = index * slot + slot / 8
        for offset, value, kind in (
            (0, record.revenue, "revenue"),
            (bar, record.costs, "costs"),
            (2 * bar, max(0, record.profit), "profit"),
        ):
            h = round(value * scale, 1)
            bars.append(
                {
                    "x": round(x + offset, 1),
                    "y": round(height - 16 - h, 1),
                    "w": round(bar - 1, 1),
                    "h": h,
                    "kind": kind,
                    "value": value,
                    "month": record.month,
                }
            )
    labels = [{"x": round(i * slot + slot / 2, 1), "month": r.month} for i, r in enumerate(records)]
    return {"width": width, "height": height, "bars": bars, "labels": labels, "top": top}


def _group_page(request, group: BusinessGroup, *, forms_=None, status=200):
    access = access_for(request.user)
    memberships = list(
        GroupMembership.objects.filter(group=group)
        .select_related("member")
        .order_by("-is_open", "joined_on", "pk")
    )
    records = list(group.business_records.order_by("-month"))
    loans = list(
        selectors.kur_list(request.user).filter(group=group).select_related("bank", "scheme")
    )
    may_edit = group_services.edits_group(access, group)
    forms_ = forms_ or {}
    context = {
        "group": group,
        "memberships": memberships,
        "open_count": sum(1 for m in memberships if m.is_open),
        "limits": group_services.size_limits(),
        "records": records,
        "chart": chart(records),
        "loans": loans,
        "changes": group.status_changes.select_related("actor"),
        "may_edit": may_edit,
        "personal": access.reads_personal_data,
        "member_form": forms_.get("member") or MemberAddForm(user=request.user, group=group),
        "status_form": _status_form(group, forms_.get("status")),
        "record_form": forms_.get("record")
        or BusinessRecordForm(initial={"month": timezone.localdate().strftime("%Y-%m")}),
    }
    return render(request, "groups/detail.html", context, status=status)


def _status_form(group: BusinessGroup, form: StatusForm | None) -> StatusForm:
    """Only the moves the group's status allows are offered (the service checks again)."""
    form = form or StatusForm()
    if not isinstance(form, StatusForm):  # a refused "leaves" shows its error here
        return form
    allowed = group_services.STATUS_MOVES[GroupStatus(group.status)]
    choices = [(value, label) for value, label in GroupStatus.choices if value in allowed]
    form.offer(choices, needs_reason=group_services.REASON_MOVES)
    return form


@require_GET
@login_required
def group_detail(request, pk):
    _reader(request)
    return _group_page(request, _visible_group(request, pk))


@require_http_methods(["GET", "POST"])
@login_required
def group_form(request, pk=None):
    access = _reader(request)
    group = _visible_group(request, pk) if pk else None
    if group is None and not access.has_role(*group_services.EDITORS):
        raise PermissionDenied
    if group is not None and not group_services.edits_group(access, group):
        raise PermissionDenied
    initial = {}
    if group is not None:
        initial = {
            "name": group.name,
            "kind": group.kind,
            "sector": group.sector,
            "desa": group.desa,
            "founded_on": group.founded_on,
            "facilitator": group.facilitator,
        }
    form = GroupForm(request.POST or None, initial=initial, access=access)
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if group is None:
            result, status = run_on_form(
                lambda: group_services.group_create(actor=request.user, **data), form
            )
        else:
            result, status = run_on_form(
                lambda: group_services.group_update(actor=request.user, group=group, **data), form
            )
        if result is not None:
            messages.success(request, _("The group is saved."))
            return redirect("groups:detail", result.pk)
    return render(request, "groups/form.html", {"form": form, "group": group}, status=status)


def _group_action(request, pk, key, form, call):
    group = _visible_group(request, pk)
    if not group_services.edits_group(access_for(request.user), group):
        raise PermissionDenied
    return post_action(
        request,
        lambda: group,
        _group_page,
        name=key,
        form=form,
        call=call,
        message=_("Saved."),
        done=reverse("groups:detail", args=[group.pk]),
    )


@require_POST
@login_required
def group_member_add(request, pk):
    _reader(request)
    group = _visible_group(request, pk)
    form = MemberAddForm(request.POST, user=request.user, group=group)
    return _group_action(
        request,
        pk,
        "member",
        form,
        lambda g, d: group_services.group_member_add(actor=request.user, group=g, **d),
    )


@require_POST
@login_required
def group_member_leave(request, pk, membership_pk):
    _reader(request)
    group = _visible_group(request, pk)
    membership = get_object_or_404(GroupMembership, pk=membership_pk, group=group)
    form = ResolveForm(request.POST)
    return _group_action(
        request,
        pk,
        "status",
        form,
        lambda g, d: group_services.group_member_leave(actor=request.user, membership=membership),
    )


@require_POST
@login_required
def group_status(request, pk):
    _reader(request)
    return _group_action(
        request,
        pk,
        "status",
        StatusForm(request.POST),
        lambda g, d: group_services.group_status_change(actor=request.user, group=g, **d),
    )


@require_POST
@login_required
def group_record(request, pk):
    _reader(request)

    def save(group, data):
        data = {**data, "profit_per_member": data.get("profit_per_member") or 0}
        return group_services.business_record_save(actor=request.user, group=group, **data)

    return _group_action(request, pk, "record", BusinessRecordForm(request.POST), save)


# --- KUR --------------------------------------------------------------------------------------


@require_GET
@login_required
def kur_board(request):
    """The pipeline per bank and per kabupaten/kota: one column per stage."""
    _reader(request)
    params = request.GET.copy()
    qs = selectors.kur_list(request.user, params)
    cards = list(qs[:BOARD_LIMIT])
    columns = []
    for statuses in BOARD_COLUMNS:
        rows = [a for a in cards if a.status in statuses]
        columns.append(
            {
                "labels": [KurStatus(s).label for s in statuses],
                "rows": rows,
                "amount": sum(a.amount for a in rows),
            }
        )
    codes = {a.desa.code[:5] for a in cards}
    districts = dict(Region.objects.filter(code__in=codes).values_list("code", "name"))
    filterset = selectors.KurFilter(params, queryset=KurApplication.objects.none())
    context = {
        "columns": columns,
        "form": _page_filters(filterset.form),
        "query": page_query(params),
        "truncated": len(cards) >= BOARD_LIMIT,
        "totals": [
            (_("Per bank"), _totals(cards, lambda a: a.bank.short_name)),
            (
                _("Per kabupaten/kota"),
                _totals(cards, lambda a: districts.get(a.desa.code[:5], a.desa.code[:5])),
            ),
        ],
    }
    return _render_list(request, "kur/board.html", "kur/partials/_board.html", context)


def _totals(cards, key) -> list[dict]:
    """Applications and rupiah per bank or per kabupaten/kota, and how many are in arrears."""
    rows: dict[str, dict] = {}
    for a in cards:
        row = rows.setdefault(key(a), {"name": key(a), "count": 0, "amount": 0, "arrears": 0})
        row["count"] += 1
        row["amount"] += a.amount
        row["arrears"] += a.status in (KurStatus.IN_ARREARS, KurStatus.DEFAULTED)
    return sorted(rows.values(), key=lambda r: r["name"])


@require_http_methods(["GET", "POST"])
@login_required
def kur_create(request):
    _reader(request)
    group = member = None
    if request.GET.get("group", "").isdecimal():
        group = _visible_group(request, int(request.GET["group"]))
    elif request.GET.get("member", "").isdecimal():
        member = get_object_or_404(
            Member.objects.visible_to(request.user), pk=request.GET["member"]
        )
    else:
        raise PermissionDenied
    form = KurForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        result, status = run_on_form(
            lambda: kur_services.kur_application_create(
                actor=request.user, group=group, member=member, **form.cleaned_data
            ),
            form,
        )
        if result is not None:
            messages.success(request, _("The application is prepared."))
            return redirect("groups:kur_detail", result.pk)
    context = {"form": form, "group": group, "member": member}
    return render(request, "kur/form.html", context, status=status)


def _kur_page(request, application, *, forms_=None, status=200):
    access = access_for(request.user)
    forms_ = forms_ or {}
    may_decide = kur_services.decides(access, application)
    may_prepare = kur_services.prepares(access, application)
    # Only the moves this user may make now (the service checks again).
    allowed = {
        s
        for s in kur_services.MOVES[KurStatus(application.status)]
        if may_decide or (s in kur_services.PREPARER_MOVES and may_prepare)
    }
    choices = [(s, KurStatus(s).label) for s in KurStatus.values if s in allowed]
    move_form = forms_.get("move") or KurMoveForm()
    move_form.offer(choices, needs_reason=kur_services.REASON_MOVES)
    context = {
        "application": application,
        "instalments": list(application.instalments.all()),
        "repayments": list(application.repayments.select_related("recorded_by")),
        "moves": list(application.status_changes.select_related("actor")),
        "arrears": kur_services.application_arrears(application),
        "move_form": move_form,
        "can_move": bool(choices),
        "can_repay": application.status in kur_services.LOAN_STATES and (may_decide or may_prepare),
        "repayment_form": forms_.get("repayment")
        or RepaymentForm(initial={"paid_on": timezone.localdate()}),
        "personal": access.reads_personal_data,
    }
    return render(request, "kur/detail.html", context, status=status)


def _visible_application(request, pk):
    return get_object_or_404(
        selectors.kur_visible_to(request.user).select_related(
            "group", "member", "bank", "scheme", "desa"
        ),
        pk=pk,
    )


@require_GET
@login_required
def kur_detail(request, pk):
    _reader(request)
    return _kur_page(request, _visible_application(request, pk))


@require_POST
@login_required
def kur_move(request, pk):
    _reader(request)
    application = _visible_application(request, pk)
    form = KurMoveForm(request.POST)
    status = 200
    if form.is_valid():
        result, status = run_on_form(
            lambda: kur_services.kur_application_move(
                actor=request.user, application=application, **form.cleaned_data
            ),
            form,
        )
        if result is not None:
            messages.success(request, _("The application moved."))
            return redirect("groups:kur_detail", application.pk)
    return _kur_page(request, application, forms_={"move": form}, status=status)


@require_POST
@login_required
def kur_repay(request, pk):
    _reader(request)
    application = _visible_application(request, pk)
    form = RepaymentForm(request.POST)
    status = 200
    if form.is_valid():
        result, status = run_on_form(
            lambda: kur_services.repayment_record(
                actor=request.user,
                application=application,
                paid_on=form.cleaned_data["paid_on"],
                amount=form.cleaned_data["amount"],
                note=form.cleaned_data["note"],
            ),
            form,
        )
        if result is not None:
            messages.success(request, _("The repayment is recorded."))
            return redirect("groups:kur_detail", application.pk)
    return _kur_page(request, application, forms_={"repayment": form}, status=status)


# --- graduations and follow-ups ---------------------------------------------------------------


@require_GET
@login_required
def graduation_list(request):
    _register_reader(request)
    params = request.GET.copy()
    params.pop("page", None)
    qs = selectors.graduation_list(request.user, params)
    context = _list_context(request, qs, selectors.GraduationFilter, selectors.Graduation.objects)
    return _render_list(
        request, "graduations/list.html", "graduations/partials/_table.html", context
    )


@require_GET
@login_required
def follow_up_list(request):
    access = _register_reader(request)
    params = request.GET.copy()
    params.pop("page", None)
    if "open" not in request.GET:
        params["open"] = "true"  # open ones first and by default
    qs = selectors.follow_up_list(request.user, params)
    context = _list_context(request, qs, selectors.FollowUpFilter, selectors.FollowUp.objects)
    context["can_resolve"] = access.has_role(*group_services.EDITORS)
    context["resolve_form"] = ResolveForm()
    return _render_list(request, "followups/list.html", "followups/partials/_table.html", context)


@require_POST
@login_required
def follow_up_resolve(request, pk):
    _register_reader(request)
    follow_up = get_object_or_404(selectors.follow_ups_visible_to(request.user), pk=pk)
    form = ResolveForm(request.POST)
    if form.is_valid():
        result, _status = run_on_form(
            lambda: graduation_services.follow_up_resolve(
                actor=request.user, follow_up=follow_up, note=form.cleaned_data["note"]
            ),
            form,
        )
        if result is not None:
            messages.success(request, _("The follow-up is resolved."))
            return redirect("groups:follow_ups")
    for error in form.errors.values():
        messages.error(request, " ".join(error))
    return redirect("groups:follow_ups")
