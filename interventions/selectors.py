"""Reads of the pathway, always scoped to the user; HTML views and the API share them."""

from django.db.models import Case, CharField, Exists, F, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce

from households.scoping import household_q
from opd.access import access_for
from opd.models import Role

from .models import Graduation, GraduationStatus, RecalculationJob
from .pathway import GRADUATED, REGISTERED

JOB_READERS = (Role.PROVINCIAL_ADMIN, Role.DISTRICT_STAFF, Role.AUDITOR)
JOB_STARTERS = (Role.PROVINCIAL_ADMIN, Role.DISTRICT_STAFF)


def jobs_visible_to(user) -> QuerySet[RecalculationJob]:
    """Provincial admins and auditors see every job; district staff the jobs of their area and
    the province-wide ones they started; everyone else none."""
    access = access_for(user)
    qs = RecalculationJob.objects.all()
    if access.has_role(Role.PROVINCIAL_ADMIN, Role.AUDITOR):
        return qs
    if access.has_role(Role.DISTRICT_STAFF) and access.register_areas:
        return qs.filter(
            (Q(region__isnull=False) & access.area_q("region__code"))
            | Q(region__isnull=True, created_by=user)
        )
    return qs.none()


def scoped(qs: QuerySet, user) -> QuerySet:
    """Rows (assessments, transitions, cases) whose household the user may see."""
    return qs.filter(household_q(user, prefix="household__"))


MONITORING_ENDED = "graduated_monitoring_ended"


def visit_stage_expression():
    """A household's stage for the visit cadence (registered until its case exists).

    A graduated household is visited only while its monitoring period runs; afterwards its
    stage reads `MONITORING_ENDED`, which has no cadence, so it is no longer due.
    """
    monitored = Graduation.objects.filter(
        household=OuterRef("pk"), status=GraduationStatus.MONITORING
    )
    return Case(
        When(Q(case__state=GRADUATED) & ~Exists(monitored), then=Value(MONITORING_ENDED)),
        default=Coalesce(F("case__state"), Value(REGISTERED)),
        output_field=CharField(),
    )
