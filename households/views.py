"""HTML pages of the household register: thin views over the selectors and services.

Reads go through the scoped selectors (outside a user's scope a household is 404); writes go
through the services, whose errors are put back on the forms. NIK and No. KK are masked unless
the user's role needs them in clear, and every clear view is logged.
"""

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import push_url

from opd.access import Access, access_for
from povertycase.views_util import run_service
from regions.models import Region

from . import choices as c
from . import selectors, services
from .forms import (
    HeadForm,
    HouseholdEditForm,
    HouseholdForm,
    HouseholdSearchForm,
    LeaveForm,
    LocationForm,
    MakeHeadForm,
    MemberEditForm,
    MemberForm,
    add_service_errors,
    clean_region_params,
)
from .identity import mask
from .models import Household, Member
from .services import HOUSING_FIELDS
from .validation import nik_warnings

PAGE_SIZE = 25
MONEY_FIELDS = {"monthly_expenditure", "monthly_income"}
IDENTITY_FIELDS = {"nik", "no_kk"}
HISTORY_EXCLUDED = ["version", "created_at", "updated_at", "created_by"]
DETAIL_SECTIONS = (
    (
        "location",
        ("rt", "rw", "address"),
    ),
    (
        "housing",
        HOUSING_FIELDS,
    ),
    ("money", ("monthly_expenditure", "monthly_income")),
    (
        "registers",
        (
            "desil",
            "desil_source",
            "desil_as_of",
            "dtsen_id",
            "p3ke_id",
            "dtks_id",
            "registration_source",
            "status",
            "created_at",
        ),
    ),
)


# --- helpers ----------------------------------------------------------------------------------


def rupiah(value) -> str:
    """Whole rupiah the Indonesian way: "Rp 1.200.000"."""
    if value is None:
        return ""
    return "Rp " + f"{int(value):,}".replace(",", ".")


def age(birth_date: date | None, today: date) -> int | None:
    if birth_date is None:
        return None
    return (
        today.year
        - birth_date.year
        - ((today.month, today.day) < (birth_date.month, birth_date.day))
    )


def _reader(request, *, edit: bool = False) -> Access:
    access = access_for(request.user)
    if not access.reads_register or (edit and not access.edits_register):
        raise PermissionDenied
    return access


def _household(user, pk: int) -> Household:
    try:
        return selectors.household_detail(user, pk)
    except Household.DoesNotExist as exc:
        raise Http404 from exc


def _editable_household(request, pk: int) -> Household:
    access = _reader(request, edit=True)
    household = _household(request.user, pk)
    if not access.covers(household.desa.code):
        raise PermissionDenied
    return household


def _editable_member(request, pk: int) -> Member:
    access = _reader(request, edit=True)
    try:
        member = (
            Member.objects.visible_to(request.user).select_related("household__desa").get(pk=pk)
        )
    except Member.DoesNotExist as exc:
        raise Http404 from exc
    if not access.covers(member.household.desa.code):
        raise PermissionDenied
    return member


def _posted(request):
    """The submitted data of a POST (bound even when empty), None on GET."""
    return request.POST if request.method == "POST" else None


def _run(call, form, *, others=(), member_forms=()):
    """Call a service; on refusal put its errors on the forms. Returns (result, HTTP status)."""

    def add_errors(exc):
        add_service_errors(exc, form, others=others, member_forms=member_forms)

    return run_service(call, form, add_errors)


def _display(obj, name: str):
    """A field's value as a person reads it (choice labels, Yes/No, rupiah)."""
    value = getattr(obj, name)
    if value is None or value == "":
        return ""
    field = obj._meta.get_field(name)
    if field.choices:
        return dict(field.flatchoices).get(value, value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if name in MONEY_FIELDS:
        return rupiah(value)
    return value


def _label(model, name: str) -> str:
    label = str(model._meta.get_field(name).verbose_name)
    return label[:1].upper() + label[1:]


# --- list -------------------------------------------------------------------------------------


@require_GET
@login_required
def household_list(request):
    access = _reader(request)
    params = clean_region_params(request.GET)
    params.pop("page", None)
    page = Paginator(selectors.household_list(request.user, params), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    for household in page:
        household.no_kk_masked = mask(household.no_kk)
        household.head_nik_masked = mask(household.head_nik) if household.head_nik else ""
        household.expenditure = rupiah(household.monthly_expenditure)
    context = {
        "page": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=1, on_ends=1),
        "query": params,
        "form": HouseholdSearchForm(params, access=access),
    }
    partial = request.htmx and not request.htmx.history_restore_request
    template = "households/partials/_table.html" if partial else "households/list.html"
    response = render(request, template, context)
    if partial:
        query = {k: v for k, v in params.items() if v}
        if page.number > 1:
            query["page"] = page.number
        push_url(response, f"{request.path}?{urlencode(query)}" if query else request.path)
    patch_vary_headers(response, ("HX-Request",))
    return response


# --- detail and history -----------------------------------------------------------------------


@require_GET
@login_required
def household_detail(request, pk: int):
    access = _reader(request)
    household = _household(request.user, pk)
    clear = access.reads_identity_numbers
    show = (lambda v: v) if clear else mask
    today = timezone.localdate()
    members = list(selectors.household_members(household))
    for member in members:
        member.nik_shown = show(member.nik)
        member.age = age(member.birth_date, today)
        member.nik_warnings = nik_warnings(member.nik)
    active = [m for m in members if m.status == c.MemberStatus.ACTIVE]
    kk_changes = list(household.kk_changes.all())
    for change in kk_changes:
        change.old_shown = show(change.old_no_kk) if change.old_no_kk else ""
        change.new_shown = show(change.new_no_kk)
    titles = {
        "location": _("Location"),
        "housing": _("Housing and living conditions"),
        "money": _("Money"),
        "registers": _("Registers and status"),
    }
    sections = {
        key: [(_label(Household, n), _display(household, n)) for n in names]
        for key, names in DETAIL_SECTIONS
    }
    desa = household.desa
    sections["location"][:0] = [
        (_("Village"), desa.name),
        (_("District"), desa.parent.name),
        (_("Regency/city"), desa.parent.parent.name),
    ]
    if household.lat is not None:
        sections["location"].append((_("GPS"), f"{household.lat}, {household.lng}"))
    if household.monthly_expenditure is not None and active:
        sections["money"].append(
            (_("Expenditure per person"), rupiah(household.monthly_expenditure // len(active)))
        )
    if clear:
        services.personal_data_viewed(user=request.user, household=household, channel="html")
    return render(
        request,
        "households/detail.html",
        {
            "household": household,
            "no_kk_shown": show(household.no_kk),
            "identity_clear": clear,
            "sections": [(titles[key], rows) for key, rows in sections.items()],
            "members": members,
            "kk_changes": kk_changes,
            "can_edit": access.edits_register and access.covers(household.desa.code),
        },
    )


@require_GET
@login_required
def household_history(request, pk: int):
    """Who changed what and when, for the household and its members (django-simple-history)."""
    access = _reader(request)
    household = _household(request.user, pk)
    clear = access.reads_identity_numbers
    entries = _history_entries(
        Household, household.history.select_related("history_user"), clear, subject=None
    )
    member_records = Member.history.filter(household_id=household.pk).select_related("history_user")
    by_member: dict[int, list] = {}
    for record in member_records.order_by("id", "-history_date", "-history_id"):
        by_member.setdefault(record.id, []).append(record)
    for records in by_member.values():
        entries += _history_entries(Member, records, clear, subject=records[0].name)
    entries.sort(key=lambda e: e["when"], reverse=True)
    if clear:
        services.personal_data_viewed(user=request.user, household=household, channel="html")
    return render(request, "households/history.html", {"household": household, "entries": entries})


def _history_entries(model, records, clear: bool, *, subject) -> list[dict]:
    """One entry per historical record (newest first in `records`): who, when, what changed."""
    records = list(records)
    if not records:  # rows written in bulk (imports, demo data) have no history yet
        return []
    region_names = {}
    entries = []
    for newer, older in zip(records, [*records[1:], None], strict=True):
        changes = []
        if older is not None:
            delta = newer.diff_against(older, excluded_fields=HISTORY_EXCLUDED)
            for change in delta.changes:
                changes.append(
                    (
                        _label(model, change.field),
                        _history_value(model, change.field, change.old, clear, region_names),
                        _history_value(model, change.field, change.new, clear, region_names),
                    )
                )
            if not changes:
                continue
        entries.append(
            {
                "when": newer.history_date,
                "who": newer.history_user,
                "subject": subject,
                "created": older is None,
                "changes": changes,
            }
        )
    return entries


def _history_value(model, name: str, value, clear: bool, region_names: dict):
    if value is None or value == "":
        return ""
    if name in IDENTITY_FIELDS:
        return value if clear else mask(value)
    if name == "desa":
        if value not in region_names:
            region_names[value] = Region.objects.filter(pk=value).values_list("name", flat=True)
        return next(iter(region_names[value]), value)
    field = model._meta.get_field(name)
    if field.choices:
        return dict(field.flatchoices).get(value, value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if name in MONEY_FIELDS:
        return rupiah(value)
    return value


# --- register and edit ------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def household_create(request):
    """Register a household with its head on one page."""
    access = _reader(request, edit=True)
    status = 200
    if request.method == "POST":
        location = LocationForm(request.POST, access=access)
        form = HouseholdForm(request.POST)
        head = HeadForm(request.POST, prefix="head")
        if all([location.is_valid(), form.is_valid(), head.is_valid()]):
            household, status = _run(
                lambda: services.household_register(
                    actor=request.user,
                    desa=location.cleaned_data["desa"],
                    no_kk=form.cleaned_data["no_kk"],
                    members=[head.service_fields()],
                    **form.service_fields(),
                ),
                form,
                others=(location,),
                member_forms=(head,),
            )
            if household is not None:
                messages.success(request, _("The household was registered."))
                return redirect("households:detail", household.pk)
    else:
        location = LocationForm(access=access)
        form = HouseholdForm()
        head = HeadForm(prefix="head")
    return render(
        request,
        "households/form.html",
        {"form": form, "location": location, "head": head, "household": None},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@login_required
def household_edit(request, pk: int):
    access = access_for(request.user)
    household = _editable_household(request, pk)
    status = 200
    if request.method == "POST":
        location = LocationForm(request.POST, access=access)
        form = HouseholdEditForm(request.POST, instance=household)
        if all([location.is_valid(), form.is_valid()]):
            updated, status = _run(
                lambda: services.household_update(
                    actor=request.user,
                    household=household,
                    expected_version=form.cleaned_data["version"],
                    desa=location.cleaned_data["desa"],
                    no_kk=form.cleaned_data["no_kk"],
                    kk_change_reason=form.cleaned_data["kk_change_reason"] or None,
                    **form.service_fields(),
                ),
                form,
                others=(location,),
            )
            if updated is not None:
                messages.success(request, _("The household was saved."))
                return redirect("households:detail", household.pk)
    else:
        location = LocationForm(access=access, desa=household.desa)
        form = HouseholdEditForm(instance=household)
    return render(
        request,
        "households/form.html",
        {
            "form": form,
            "location": location,
            "household": household,
            "show_kk_reason": form.kk_changed or bool(form["kk_change_reason"].errors),
        },
        status=status,
    )


@require_GET
@login_required
def kk_reason(request, pk: int):
    """htmx: the "reason for the No. KK change" select, shown only while the number differs."""
    household = _editable_household(request, pk)
    data = {"no_kk": request.GET.get("no_kk", "")}
    if request.GET.get("kk_change_reason"):
        data["kk_change_reason"] = request.GET["kk_change_reason"]
    form = HouseholdEditForm(data, instance=household)
    return render(
        request,
        "households/partials/_kk_reason.html",
        {"form": form, "show_kk_reason": form.kk_changed},
    )


# --- members ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def member_add(request, pk: int):
    household = _editable_household(request, pk)
    form = MemberForm(_posted(request))
    status = 200
    if request.method == "POST" and form.is_valid():
        member, status = _run(
            lambda: services.member_add(
                actor=request.user, household=household, **form.service_fields()
            ),
            form,
        )
        if member is not None:
            messages.success(request, _("%(name)s was added.") % {"name": member.name})
            return redirect("households:detail", household.pk)
    return _member_page(request, form, household, _("Add a member"), _("Add member"), status)


@require_http_methods(["GET", "POST"])
@login_required
def member_edit(request, pk: int):
    member = _editable_member(request, pk)
    form = MemberEditForm(_posted(request), instance=member)
    status = 200
    if request.method == "POST" and form.is_valid():
        updated, status = _run(
            lambda: services.member_update(
                actor=request.user,
                member=member,
                expected_version=form.cleaned_data["household_version"],
                **form.service_fields(),
            ),
            form,
        )
        if updated is not None:
            messages.success(request, _("%(name)s was saved.") % {"name": updated.name})
            return redirect("households:detail", member.household_id)
    title = _("Edit %(name)s") % {"name": member.name}
    return _member_page(request, form, member.household, title, _("Save"), status)


@require_http_methods(["GET", "POST"])
@login_required
def member_make_head(request, pk: int):
    member = _editable_member(request, pk)
    form = MakeHeadForm(_posted(request))
    status = 200
    if request.method == "POST" and form.is_valid():
        head, status = _run(
            lambda: services.member_make_head(
                actor=request.user,
                member=member,
                previous_head_relationship=form.cleaned_data["previous_head_relationship"],
            ),
            form,
        )
        if head is not None:
            messages.success(request, _("%(name)s is now the head.") % {"name": head.name})
            return redirect("households:detail", member.household_id)
    title = _("Make %(name)s the head of the household") % {"name": member.name}
    return _member_page(request, form, member.household, title, _("Make head"), status)


@require_http_methods(["GET", "POST"])
@login_required
def member_leave(request, pk: int):
    member = _editable_member(request, pk)
    form = LeaveForm(_posted(request), initial={"left_on": timezone.localdate()})
    status = 200
    if request.method == "POST" and form.is_valid():
        left, status = _run(
            lambda: services.member_leave(actor=request.user, member=member, **form.cleaned_data),
            form,
        )
        if left is not None:
            messages.success(request, _("%(name)s left the household.") % {"name": left.name})
            return redirect("households:detail", member.household_id)
    title = _("%(name)s leaves the household") % {"name": member.name}
    return _member_page(request, form, member.household, title, _("Record"), status)


def _member_page(request, form, household, title, submit, status):
    return render(
        request,
        "households/member_form.html",
        {"form": form, "household": household, "title": title, "submit": submit},
        status=status,
    )
