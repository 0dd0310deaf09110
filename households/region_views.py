"""The region browser with household counts, and the <option>s behind the region selects.

A user sees the regions they cover and the ancestors that lead to them (a Lebak field worker
browsing the province sees Lebak, then their kecamatan); any other region does not exist (404).
"""

import re

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from opd.access import Access, access_for, reachable_regions
from regions.models import Level, Region

from . import selectors

PROVINCE_CODE = "36"
# The select whose value is the parent of each level's options (names of the filter/form fields).
REGION_PARAMS = ("kabupaten", "kecamatan", "desa")  # household list filters, by depth
PARENT_PARAM = {Level.DISTRICT: "kabupaten", Level.VILLAGE: "kecamatan"}
PARENT_CODE = re.compile(r"\d{2}(\.\d{2}){1,2}")  # a kabupaten or kecamatan code
EMPTY_LABELS = {"all": _("All"), "choose": _("Choose…")}


def _ancestors(code: str) -> list[str]:
    return Region(code=code).ancestor_codes()


def _require_reader(request) -> Access:
    access = access_for(request.user)
    if not access.reads_register:
        raise PermissionDenied
    return access


@login_required
def region_options(request):
    """htmx: the <option>s of one level under the chosen parent (GET level, parent or its name)."""
    access = _require_reader(request)
    level = request.GET.get("level", "")
    if level not in PARENT_PARAM:
        raise Http404
    parent_code = request.GET.get("parent") or request.GET.get(PARENT_PARAM[level], "")
    if not PARENT_CODE.fullmatch(parent_code):
        parent_code = ""
    regions = reachable_regions(access, level=level, parent_code=parent_code) if parent_code else []
    empty_label = EMPTY_LABELS.get(request.GET.get("empty", ""), EMPTY_LABELS["all"])
    return render(
        request,
        "regions/partials/_options.html",
        {
            "regions": regions,
            "empty_label": empty_label,
            # A new kabupaten empties the village select too (out-of-band swap).
            "reset_villages": level == Level.DISTRICT,
        },
    )


@login_required
def browse(request, code: str = ""):
    """Province -> kabupaten/kota -> kecamatan -> desa, with active household counts."""
    access = _require_reader(request)
    if code == PROVINCE_CODE:
        return redirect("regions:browse")
    region = None
    if code:
        if not access.reaches(code):
            raise Http404
        region = Region.objects.filter(code=code).first()
        if region is None:
            raise Http404
        if region.is_village:
            return redirect(household_list_url(region))
    # The province opens the breadcrumbs by itself; these are the levels between it and here.
    breadcrumbs = list(Region.objects.filter(code__in=_ancestors(code)[1:])) if code else []
    rows = [
        row
        for row in selectors.region_counts(request.user, region)
        if access.reaches(row["region"].code)
    ]
    for row in rows:
        r = row["region"]
        row["url"] = (
            household_list_url(r) if r.is_village else reverse("regions:browse", args=[r.code])
        )
    province = Region.objects.filter(code=PROVINCE_CODE).first()
    return render(
        request,
        "regions/browse.html",
        {
            "region": region,
            "province": province,
            "breadcrumbs": breadcrumbs,
            "rows": rows,
            "total": selectors.region_total(request.user, region),
            "list_url": household_list_url(region) if region else reverse("households:list"),
        },
    )


def household_list_url(region: Region) -> str:
    """The household list filtered to this region (its ancestors filled in for the selects)."""
    params = {}
    for code in [*_ancestors(region.code), region.code]:
        depth = code.count(".")
        if 1 <= depth <= len(REGION_PARAMS):
            params[REGION_PARAMS[depth - 1]] = code
    url = reverse("households:list")
    return f"{url}?{urlencode(params)}" if params else url
