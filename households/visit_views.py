"""HTML pages of field visits, mounted at /visits/ (app "visits"), and the service worker.

- The field worker's landing page: households due and overdue for a visit, most urgent first,
  with how many recorded visits wait on the phone. The page hands its households to the offline
  form (they are kept on the phone), and the service worker (``/sw.js``) keeps the page and the
  form for when the signal drops.
- The visit form (``/visits/record/?household=<pk>``), phone-first: it stores the visit in the
  browser (IndexedDB) with a UUID and sends it to ``/api/v1/visits/`` when online; a visit sent
  twice is stored once.
- The visit list with filters, a visit's page (changes before/after, conflicts, photos; a
  supervisor resolves the conflicts there) and the supervision page (per worker and kecamatan).

Reads go through ``households.visit_selectors`` (outside the user's area: 404); writes go
through ``households.visits``.
"""

import hashlib

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from opd.access import access_for, reachable_regions
from povertycase.views_util import page_query, run_service
from regions.models import Level

from . import choices as c
from . import visit_selectors as selectors
from . import visits as services
from .forms import BootstrapMixin
from .models import Household, Member, Visit, VisitPhoto
from .selectors import household_list
from .views import rupiah

PAGE_SIZE = 25
# Households on the visits-due page, and so on the phone's offline list: the most urgent ones.
DUE_LIMIT = 200
SUPERVISION_PERIODS = (7, 30, 90)


def _reader(request):
    access = access_for(request.user)
    if not access.reads_register:
        raise PermissionDenied
    return access


def _partial(request) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def _style(form: forms.Form) -> forms.Form:
    for field in form.fields.values():
        css = (
            "form-select form-select-sm"
            if isinstance(field.widget, forms.Select)
            else ("form-control form-control-sm")
        )
        field.widget.attrs["class"] = css
    return form


# --- the field worker's pages -----------------------------------------------------------------


def _phone_household(household: Household, members) -> dict:
    """What the offline form needs about a household (kept on the phone)."""
    return {
        "id": household.pk,
        "version": household.version,
        "head": getattr(household, "head_name", "") or "",
        "address": household.address,
        "desa": household.desa.name,
        "rt": household.rt,
        "rw": household.rw,
        "members": [{"id": m.pk, "name": m.name} for m in members],
    }


@require_GET
@login_required
def due(request):
    """Households due and overdue for a visit, most urgent first (the worker's landing page)."""
    access = _reader(request)
    now = timezone.now()
    active = Member.objects.active().order_by("id").only("pk", "name", "household_id")
    counts = selectors.due_counts(request.user)
    households = list(
        selectors.due_list(request.user).prefetch_related(
            Prefetch("members", queryset=active, to_attr="active_members")
        )[:DUE_LIMIT]
    )
    today = timezone.localdate()
    for household in households:
        household.due_on = timezone.localdate(household.due_at)
        household.is_overdue = household.due_on < today
        household.days = (today - household.due_on).days
    context = {
        "households": households,
        "overdue": counts["overdue"],
        "due_total": counts["due"],
        "cut": counts["due"] > len(households),
        "phone_data": [_phone_household(h, h.active_members) for h in households],
        "edits": access.edits_register,
        "now": now,
    }
    return render(request, "visits/due.html", context)


@require_GET
@login_required
def record(request):
    """The visit form. Without a household (the offline shell) it reads the phone's list."""
    access = access_for(request.user)
    if not access.edits_register:
        raise PermissionDenied
    phone_household = None
    raw = request.GET.get("household", "")
    if raw:
        if not raw.isdecimal() or len(raw) > 18:
            raise Http404
        household = (
            household_list(request.user)
            .filter(pk=int(raw), status=c.HouseholdStatus.ACTIVE)
            .first()
        )
        if household is None:
            raise Http404
        members = Member.objects.active().filter(household=household).order_by("id")
        phone_household = _phone_household(household, members)
    context = {
        "phone_household": phone_household,
        "met_choices": c.VisitMet.choices,
        "need_choices": c.BasicNeed.choices,
        "change_choices": c.MemberChange.choices,
        "sex_choices": c.Sex.choices,
        "relationship_choices": c.Relationship.choices,
        "school_choices": c.SchoolEnrolment.choices,
        "work_choices": c.WorkStatus.choices,
        "max_photos": settings.VISIT_PHOTOS_MAX,
        "max_photo_mb": round(settings.VISIT_PHOTO_MAX_BYTES / 1024 / 1024, 1),
    }
    return render(request, "visits/record.html", context)


# --- list, detail, supervision -----------------------------------------------------------------


def _page_filters(form: forms.Form, access, workers: list[tuple[str, str]]) -> forms.Form:
    """The list's filters (the API's) worded for a person, with the districts they reach and
    the field workers whose visits they see (by name; the API takes the username).

    The household id stays as a hidden filter (the household page links here with it); the
    village filter is left to the API: a district narrows the list enough on a page.
    """
    fields = form.fields
    fields["household"].widget = forms.HiddenInput()
    fields["worker"].label = _("Field worker")
    fields["worker"].widget = forms.Select(choices=[("", _("Any field worker")), *workers])
    fields["kecamatan"].queryset = reachable_regions(access, level=Level.DISTRICT)
    del fields["desa"]
    fields["far"].widget = forms.Select(
        choices=[
            ("", _("Any distance")),
            ("true", _("Far from the household")),
            ("false", _("Near the household")),
        ]
    )
    fields["visited_at"].label = _("Visited between")
    range_widgets = fields["visited_at"].widget.widgets
    for widget, label in zip(range_widgets, (_("From"), _("To")), strict=True):
        widget.input_type = "date"
        widget.attrs["aria-label"] = label
    return _style(form)


@require_GET
@login_required
def visit_list(request):
    access = _reader(request)
    params = request.GET.copy()
    params.pop("page", None)
    filterset = selectors.VisitFilter(params, queryset=selectors.visits_visible_to(request.user))
    page = Paginator(selectors.visit_list(request.user, params), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "page": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1),
        "query": page_query(params),
        "form": _page_filters(filterset.form, access, selectors.visit_workers(request.user)),
        "far_metres": settings.VISIT_FAR_METRES,
    }
    template = "visits/partials/_table.html" if _partial(request) else "visits/list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ("HX-Request",))
    return response


class ResolveForm(BootstrapMixin, forms.Form):
    accept = forms.MultipleChoiceField(
        label=gettext_lazy("Take the visit's value for"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(
        label=gettext_lazy("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, conflicts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["accept"].choices = [(x["key"], x["key"]) for x in conflicts]
        self.fields["accept"].widget.attrs["class"] = "form-check-input"


def _field_label(key: str) -> str:
    if key in services.VISIT_HOUSEHOLD_FIELDS:
        return str(Household._meta.get_field(key).verbose_name)
    return key


def _describe_entries(entries) -> list[dict]:
    out = []
    for entry in entries:
        row = dict(entry)
        if entry.get("kind") == "household":
            row["label"] = _field_label(entry["field"])
            for side in ("before", "after", "server", "visit"):
                if side in entry:
                    row[f"{side}_text"] = rupiah(entry[side])
        else:
            kind = entry.get("change")
            if isinstance(kind, dict):
                kind = kind.get("change")
            row["label"] = c.MemberChange(kind).label if kind in c.MemberChange.values else kind
            row["name"] = entry.get("name") or (entry.get("visit") or {}).get("name", "")
            for side in ("before", "after", "server", "visit"):
                value = entry.get(side)
                if isinstance(value, dict):
                    row[f"{side}_text"] = ", ".join(f"{k}: {v}" for k, v in value.items() if v)
                else:
                    row[f"{side}_text"] = value if value not in (None, "") else "—"
        out.append(row)
    return out


def _detail_page(request, visit, *, form=None, status=200):
    access = access_for(request.user)
    supervisor = access.has_role("provincial_admin", "district_staff") and access.covers(
        visit.household.desa.code
    )
    open_conflict = visit.conflict_status == c.VisitConflict.OPEN
    if form is None and supervisor and open_conflict:
        form = ResolveForm(conflicts=visit.conflicts)
    context = {
        "visit": visit,
        "changes": _describe_entries(visit.changes),
        "conflicts": _describe_entries(visit.conflicts),
        "needs": [c.BasicNeed(n).label for n in visit.unmet_needs if n in c.BasicNeed.values],
        "money": {
            "spending": rupiah(visit.monthly_expenditure),
            "income": rupiah(visit.monthly_income),
        },
        "form": form if supervisor and open_conflict else None,
        "far_metres": settings.VISIT_FAR_METRES,
    }
    return render(request, "visits/detail.html", context, status=status)


def _visit(request, pk: int):
    try:
        return selectors.visit_detail(request.user, pk)
    except Visit.DoesNotExist as exc:
        raise Http404 from exc


@require_GET
@login_required
def visit_detail(request, pk: int):
    _reader(request)
    return _detail_page(request, _visit(request, pk))


@require_POST
@login_required
def visit_resolve(request, pk: int):
    _reader(request)
    visit = _visit(request, pk)
    form = ResolveForm(request.POST, conflicts=visit.conflicts)
    if form.is_valid():

        def add_errors(exc: ValidationError) -> None:
            messages_ = exc.messages
            form.add_error("accept" if hasattr(exc, "error_dict") else None, messages_)

        result, status = run_service(
            lambda: services.visit_resolve(
                actor=request.user,
                visit=visit,
                accept=form.cleaned_data["accept"],
                note=form.cleaned_data["note"],
            ),
            form,
            add_errors,
        )
        if result is not None:
            messages.success(request, _("The conflicts of this visit are resolved."))
            return redirect("visits:detail", pk=visit.pk)
        return _detail_page(request, visit, form=form, status=status)
    return _detail_page(request, visit, form=form)


@require_GET
@login_required
def photo(request, pk: int):
    """A visit's photo, read through the visit scope (never a public media URL)."""
    _reader(request)
    try:
        row = selectors.visit_photo(request.user, pk)
    except VisitPhoto.DoesNotExist as exc:
        raise Http404 from exc
    try:
        handle = row.image.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(handle, content_type="image/jpeg")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_GET
@login_required
def supervision(request):
    access = _reader(request)
    if not selectors.supervises(access):
        raise PermissionDenied
    try:
        days = int(request.GET.get("days", 30))
    except ValueError:
        days = 30
    if days not in SUPERVISION_PERIODS:
        days = 30
    context = {
        **selectors.supervision(request.user, days=days),
        "periods": SUPERVISION_PERIODS,
        "far_metres": settings.VISIT_FAR_METRES,
    }
    return render(request, "visits/supervision.html", context)


# --- service worker ---------------------------------------------------------------------------

SHELL_STATIC = (
    "bootstrap/css/bootstrap.min.css",
    "bootstrap/js/bootstrap.bundle.min.js",
    "css/povertycase.css",
    "js/visits.js",
)


@require_GET
def service_worker(request):
    """The service worker, at the site root so its scope covers every page."""
    shell = [reverse("visits:due"), reverse("visits:record")]
    static_urls = [static(path) for path in SHELL_STATIC]
    version = hashlib.sha256("|".join(shell + static_urls).encode()).hexdigest()[:12]
    body = render_to_string(
        "visits/sw.js",
        {
            "version": version,
            "shell": shell,
            "static_urls": static_urls,
            "static_prefix": settings.STATIC_URL
            if settings.STATIC_URL.startswith("/")
            else "/" + settings.STATIC_URL,
            "cached_prefix": reverse("visits:due"),
        },
    )
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response
