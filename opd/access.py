"""What a user may see and do, computed once per request from their active memberships.

These are the building blocks every `visible_to(user)` uses: the register area (a set of region
subtrees, or the whole province), whether personal data and identity numbers are shown, and
whether the user may change the register.
"""

from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from regions.models import Region

from .models import Membership, Role

REGISTER_READERS = {
    Role.PROVINCIAL_ADMIN,
    Role.DISTRICT_STAFF,
    Role.FIELD_WORKER,
    Role.AUDITOR,
}
REGISTER_EDITORS = {Role.PROVINCIAL_ADMIN, Role.DISTRICT_STAFF, Role.FIELD_WORKER}
# Roles whose work needs NIK and No. KK in clear (each unmasked view is logged).
IDENTITY_READERS = {Role.PROVINCIAL_ADMIN, Role.DISTRICT_STAFF, Role.FIELD_WORKER}
# Roles that may see names and addresses of the households in their reach.
PERSONAL_DATA_READERS = REGISTER_READERS | {Role.OPD_OFFICER}


@dataclass(frozen=True)
class Access:
    user_id: int | None
    is_superuser: bool = False
    roles: frozenset[str] = frozenset()
    # None: the whole province; otherwise the region codes whose subtrees the user reaches.
    register_areas: tuple[str, ...] | None = ()
    organisation_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    def has_role(self, *roles: str) -> bool:
        return self.is_superuser or bool(self.roles.intersection(roles))

    @property
    def reads_register(self) -> bool:
        return self.is_superuser or bool(self.roles & REGISTER_READERS)

    @property
    def edits_register(self) -> bool:
        return self.is_superuser or bool(self.roles & REGISTER_EDITORS)

    @property
    def reads_identity_numbers(self) -> bool:
        return self.is_superuser or bool(self.roles & IDENTITY_READERS)

    @property
    def reads_personal_data(self) -> bool:
        return self.is_superuser or bool(self.roles & PERSONAL_DATA_READERS)

    @property
    def whole_province(self) -> bool:
        return self.is_superuser or self.register_areas is None

    def area_q(self, code_field: str) -> Q:
        """A filter keeping rows whose region code (at `code_field`) is inside the user's area."""
        if self.whole_province:
            return Q()
        if not self.register_areas:
            return Q(pk__in=[])
        q = Q(pk__in=[])
        for code in self.register_areas:
            q |= Q(**{code_field: code}) | Q(**{f"{code_field}__startswith": code + "."})
        return q

    def reaches(self, region_code: str) -> bool:
        """Covers the region, or the region is an ancestor (a way down) to the user's area."""
        if self.covers(region_code):
            return True
        return any(area.startswith(region_code + ".") for area in self.register_areas or ())

    def covers(self, region_code: str) -> bool:
        if self.whole_province:
            return True
        return any(
            region_code == code or region_code.startswith(code + ".")
            for code in self.register_areas or ()
        )


ANONYMOUS = Access(user_id=None)


def access_for(user) -> Access:
    """The user's Access, cached on the user object for the rest of the request."""
    if user is None or not user.is_authenticated:
        return ANONYMOUS
    cached = getattr(user, "_povertycase_access", None)
    if cached is not None:
        return cached
    memberships = list(
        Membership.objects.filter(user=user, is_active=True, organisation__is_active=True)
        .select_related("area")
        .only("role", "organisation_id", "area__code")
    )
    access = Access(
        user_id=user.pk,
        is_superuser=user.is_superuser,
        roles=frozenset(m.role for m in memberships),
        register_areas=_register_areas(memberships),
        organisation_ids=frozenset(m.organisation_id for m in memberships),
    )
    user._povertycase_access = access
    return access


def _register_areas(memberships) -> tuple[str, ...] | None:
    codes = []
    for m in memberships:
        if m.role not in REGISTER_READERS:
            continue
        if m.area is None or "." not in m.area.code:
            return None  # whole province
        codes.append(m.area.code)
    return tuple(sorted(set(codes)))


def reachable_regions(access: Access, *, level: str, parent_code: str = "") -> QuerySet[Region]:
    """Regions of `level` (under `parent_code` when given) that the user reaches."""
    qs = Region.objects.filter(level=level)
    if parent_code:
        qs = qs.filter(code__startswith=parent_code + ".")
    if not access.whole_province:
        ancestors = {
            code
            for area in access.register_areas or ()
            for code in Region(code=area).ancestor_codes()
        }
        qs = qs.filter(access.area_q("code") | Q(code__in=ancestors))
    return qs.order_by("code")
