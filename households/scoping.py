"""Who sees which households and members.

Households are visible by area to the register's readers. Higher apps (interventions) add reach,
e.g. an OPD officer sees the households referred to their agency, by registering an extra scope
here in their AppConfig.ready(), so this app never imports them.
"""

from collections.abc import Callable

from django.db.models import Q

from opd.access import Access, access_for

ExtraScope = Callable[[Access, str], Q | None]
_extra_scopes: list[ExtraScope] = []


def register_household_scope(scope: ExtraScope) -> None:
    """`scope(access, prefix)` returns a Q over households (fields under `prefix`) or None."""
    if scope not in _extra_scopes:
        _extra_scopes.append(scope)


def household_q(user, prefix: str = "") -> Q:
    access = access_for(user)
    if not access.is_authenticated:
        return Q(pk__in=[])
    if access.reads_register and access.whole_province:
        return Q()  # note: Q() | other would narrow to `other`, so return early
    q = Q(pk__in=[])
    if access.reads_register:
        q = access.area_q(f"{prefix}desa__code")
    for scope in _extra_scopes:
        extra = scope(access, prefix)
        if extra is not None:
            q |= extra
    return q


def member_q(user) -> Q:
    return household_q(user, prefix="household__")
