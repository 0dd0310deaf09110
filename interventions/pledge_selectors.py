"""Reads of CSR pledges, disbursements and what they paid for, always scoped to the user.

Pledges hold no personal data. Who sees which:

- provincial administrators, auditors and the register's other readers (district staff, field
  workers): every pledge;
- OPD officers: pledges that are not drafts and may pay for their agency's programmes (aimed at
  one of them, or at no programme), so they can name one when logging a delivery;
- CSR partners: their own company's pledges only (another company's pledge does not exist: 404);
- anyone else: none.

What a pledge paid for is shown without personal data to everyone here: the delivery's date,
programme, quantity and value (staff also see the kecamatan); the CSR partner's outcomes are
counts of households by stage and by region, with small cells suppressed
(``interventions.suppression``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import django_filters
from django import forms
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from opd.access import access_for
from opd.models import Organisation, OrganisationKind, Role

from .models import (
    Case,
    DeliveryFunding,
    Disbursement,
    Pledge,
    PledgeStatus,
    ProgrammeTier,
    Referral,
)
from .pathway import State
from .pledges import csr_companies, target_problem
from .suppression import Suppressed, suppress_hierarchy, suppress_table

ALL = _("All")

# --- scope ------------------------------------------------------------------------------------


def pledges_visible_to(user) -> QuerySet[Pledge]:
    access = access_for(user)
    if not access.is_authenticated:
        return Pledge.objects.none()
    if access.reads_register or access.has_role(Role.PROVINCIAL_ADMIN, Role.AUDITOR):
        return Pledge.objects.all()
    q = Q(pk__in=[])
    companies = csr_companies(access)
    if companies:
        q |= Q(company_id__in=companies)
    if Role.OPD_OFFICER in access.roles:
        agencies = access.organisation_ids
        q |= ~Q(status=PledgeStatus.DRAFT) & (
            Q(programme__isnull=True) | Q(programme__owner_id__in=agencies)
        )
    return Pledge.objects.filter(q)


def reads_pledges(access) -> bool:
    return (
        access.reads_register
        or access.has_role(Role.PROVINCIAL_ADMIN, Role.AUDITOR, Role.OPD_OFFICER)
        or bool(csr_companies(access))
    )


def disbursements_visible_to(user) -> QuerySet[Disbursement]:
    return Disbursement.objects.filter(pledge__in=pledges_visible_to(user))


def organisations_visible_to(user) -> QuerySet[Organisation]:
    """Agencies and banks for every role; CSR companies for staff, but a CSR partner sees only
    its own company among them (who else pledges is not its business)."""
    access = access_for(user)
    if not access.is_authenticated or not (access.roles or access.is_superuser):
        return Organisation.objects.none()
    if access.is_superuser or not csr_companies(access) or len(access.roles) > 1:
        return Organisation.objects.all()
    return Organisation.objects.filter(
        ~Q(kind=OrganisationKind.CSR) | Q(pk__in=csr_companies(access))
    )


# --- money ------------------------------------------------------------------------------------


def with_money(queryset: QuerySet[Pledge]) -> QuerySet[Pledge]:
    """Annotate ``disbursed``, ``spent`` (rupiah) and ``funded_count`` as subqueries."""

    def total(model, column, alias):
        rows = model.objects.filter(pledge=OuterRef("pk")).order_by().values("pledge")
        return Coalesce(Subquery(rows.annotate(**{alias: column}).values(alias)), Value(0))

    return queryset.annotate(
        disbursed=total(Disbursement, Sum("amount"), "t"),
        spent=total(DeliveryFunding, Sum("amount"), "t"),
        funded_count=total(DeliveryFunding, Count("pk"), "n"),
    )


@dataclass(frozen=True)
class Realisation:
    """A pledge's money in figures and in percent of the pledge (for the progress bars)."""

    pledged: int
    disbursed: int
    spent: int

    @property
    def available(self) -> int:
        """Disbursed and not yet spent on deliveries."""
        return max(self.disbursed - self.spent, 0)

    @property
    def undisbursed(self) -> int:
        return max(self.pledged - self.disbursed, 0)

    def _percent(self, part: int) -> int:
        return 0 if not self.pledged else min(100, round(100 * part / self.pledged))

    @property
    def disbursed_percent(self) -> int:
        return self._percent(self.disbursed)

    @property
    def spent_percent(self) -> int:
        return self._percent(self.spent)


def realisation(pledge: Pledge) -> Realisation:
    """From a pledge annotated by ``with_money``."""
    return Realisation(pledge.amount, pledge.disbursed, pledge.spent)


# --- list -------------------------------------------------------------------------------------


class PledgeFilter(django_filters.FilterSet):
    """Filters shared by the pledge pages and the API list."""

    q = django_filters.CharFilter(label=_("Search (title)"), method="filter_q")
    company = django_filters.ModelChoiceFilter(
        label=_("Company"),
        queryset=Organisation.objects.filter(kind=OrganisationKind.CSR).order_by("short_name"),
        to_field_name="short_name",
        empty_label=ALL,
        help_text=_("Short name of the company."),
    )
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=PledgeStatus.choices, empty_label=ALL
    )
    programme = django_filters.CharFilter(
        label=_("Programme code"), field_name="programme__code", lookup_expr="iexact"
    )
    tier = django_filters.ChoiceFilter(
        label=_("Tier"), choices=ProgrammeTier.choices, empty_label=ALL
    )
    region = django_filters.CharFilter(
        label=_("Region code"),
        method="filter_region",
        help_text=_("Pledges aimed at this region, inside it or at a region containing it."),
    )
    running = django_filters.BooleanFilter(
        label=_("Running today"),
        method="filter_running",
        widget=forms.Select(
            choices=[("", ALL), ("true", _("Running today")), ("false", _("Not running"))]
        ),
        help_text=_("true: today is within the pledge's period; false: the others."),
    )

    class Meta:
        model = Pledge
        fields = ["q", "company", "status", "programme", "tier", "region", "running"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        if user is not None:
            self.filters["company"].queryset = organisations_visible_to(user).filter(
                kind=OrganisationKind.CSR
            )

    def filter_q(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(title__icontains=value) if value else queryset

    def filter_region(self, queryset, name, value):
        code = value.strip()
        if not code:
            return queryset
        ancestors = [code[:i] for i in range(2, len(code)) if code[i] == "."]
        return queryset.filter(
            Q(region__code=code)
            | Q(region__code__startswith=code + ".")
            | Q(region__code__in=ancestors)
            | Q(region__isnull=True)
        )

    def filter_running(self, queryset, name, value):
        if value is None:
            return queryset
        today = timezone.localdate()
        running = Q(starts_on__lte=today, ends_on__gte=today)
        return queryset.filter(running) if value else queryset.exclude(running)


def pledge_list(user, params=None) -> QuerySet[Pledge]:
    """The user's pledges with their money, filtered; a constant number of queries."""
    queryset = with_money(
        pledges_visible_to(user).select_related("company", "programme", "region")
    ).order_by("-starts_on", "-pk")
    if params:
        filterset = PledgeFilter(params, queryset=queryset, user=user)
        queryset = filterset.qs if filterset.is_valid() else queryset.none()
    return queryset


def pledge_detail(user, pk) -> Pledge:
    """One visible pledge with its money (``Pledge.DoesNotExist`` otherwise)."""
    return pledge_list(user).select_related("created_by").get(pk=pk)


def pledge_disbursements(pledge: Pledge) -> list[Disbursement]:
    return list(pledge.disbursements.select_related("recorded_by").order_by("disbursed_on", "pk"))


def funded_deliveries(pledge: Pledge) -> list[dict]:
    """What the pledge paid for, without personal data: one dict per delivery with its date,
    programme, quantity, value, the kecamatan (for staff pages) and the referral id (for links
    the viewer may follow). One query."""
    rows = (
        DeliveryFunding.objects.filter(pledge=pledge)
        .order_by("delivery__delivered_on", "delivery_id")
        .values(
            "delivery_id",
            "amount",
            "delivery__delivered_on",
            "delivery__quantity",
            "delivery__referral_id",
            "delivery__referral__programme__code",
            "delivery__referral__programme__name",
            "delivery__referral__programme__tier",
            "delivery__referral__household__desa__code",
        )
    )
    return [
        {
            "delivery": row["delivery_id"],
            "delivered_on": row["delivery__delivered_on"],
            "quantity": row["delivery__quantity"],
            "value": row["amount"],
            "programme": row["delivery__referral__programme__code"],
            "programme_name": row["delivery__referral__programme__name"],
            "tier": row["delivery__referral__programme__tier"],
            "referral": row["delivery__referral_id"],
            "kecamatan": row["delivery__referral__household__desa__code"][:8],
        }
        for row in rows
    ]


def fundable_pledges(user, *, on=None) -> list[Pledge]:
    """Active pledges the user sees running on ``on`` (today), with their money, region and
    programme selected (one query); match them to a referral with ``pledges_for``. Those with no
    money left stay in the list (the service says why they cannot pay)."""
    on = on or timezone.localdate()
    rows = with_money(
        pledges_visible_to(user)
        .filter(status=PledgeStatus.ACTIVE, starts_on__lte=on, ends_on__gte=on)
        .select_related("company", "region", "programme")
    ).order_by("company__short_name", "title", "pk")
    return list(rows)


def pledges_for(pledges: list[Pledge], referral: Referral) -> list[Pledge]:
    """Of ``pledges`` (from ``fundable_pledges``), those whose targets include the referral
    (programme and household desa selected). No query."""
    return [
        pledge
        for pledge in pledges
        if target_problem(pledge, referral.programme, referral.household.desa.code) is None
    ]


# --- the CSR partner's outcomes ---------------------------------------------------------------

#: The stages a reached household is counted in (the others are counted as "other").
STAGE_ROWS = (State.TIER1, State.TIER2, State.TIER3, State.GRADUATED)


@dataclass
class Outcomes:
    """Households reached by a company's pledges, with small cells suppressed."""

    households: Suppressed
    deliveries: int
    by_stage: list[tuple[str, Suppressed]]
    by_region: list[dict]  # {"code", "name", "count", "kecamatan": [{"code","name","count"}]}


def company_outcomes(companies) -> Outcomes:
    """Aggregate outcomes of the pledges of ``companies``: distinct households reached (a
    delivery paid by one of the pledges), by their current stage on the pathway and by
    kabupaten/kota and kecamatan. Counts below the threshold are suppressed, with
    complementary suppression (``interventions.suppression``). Three queries."""
    from regions.models import Region

    fundings = DeliveryFunding.objects.filter(pledge__company_id__in=list(companies))
    deliveries = fundings.count()
    households = dict(
        fundings.values_list(
            "delivery__referral__household_id", "delivery__referral__household__desa__code"
        ).distinct()
    )
    states = dict(
        Case.objects.filter(household_id__in=list(households)).values_list("household_id", "state")
    )
    stage_counts = Counter()
    for household_id in households:
        state = states.get(household_id)
        stage_counts[state if state in STAGE_ROWS else "other"] += 1
    total = len(households)
    stage_keys = [*STAGE_ROWS, "other"]
    stage_counts = {key: stage_counts.get(key, 0) for key in stage_keys}
    tree: dict[str, Counter] = {}
    for desa_code in households.values():
        tree.setdefault(desa_code[:5], Counter())[desa_code[:8]] += 1
    # Both tables add up to the same total: hidden in one, it is hidden in both.
    suppressed = suppress_hierarchy(total, tree)
    stage_cells = suppress_table(total, stage_counts, hide_all=suppressed.parents.total.hidden)
    if stage_cells.total.hidden and not suppressed.parents.total.hidden:
        suppressed = suppress_hierarchy(total, tree, hide_all=True)
    stage_labels = {**{s: State(s).label for s in STAGE_ROWS}, "other": _("Other stages")}
    by_stage = [(str(stage_labels[key]), stage_cells.cells[key]) for key in stage_keys]
    codes = set(tree) | {kec for counter in tree.values() for kec in counter}
    names = dict(Region.objects.filter(code__in=codes).values_list("code", "name"))
    by_region = [
        {
            "code": kab,
            "name": names.get(kab, kab),
            "count": suppressed.parents.cells[kab],
            "kecamatan": [
                {"code": kec, "name": names.get(kec, kec), "count": cell}
                for kec, cell in sorted(suppressed.children[kab].cells.items())
            ],
        }
        for kab in sorted(tree)
    ]
    return Outcomes(
        households=suppressed.parents.total,
        deliveries=deliveries,
        by_stage=by_stage,
        by_region=by_region,
    )
