from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from regions.models import Region

from . import choices as c

RUPIAH = _("Rupiah per month, whole number.")


class HouseholdQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=c.HouseholdStatus.ACTIVE)

    def visible_to(self, user):
        from .scoping import household_q

        return self.filter(household_q(user))


class Household(models.Model):
    """A family (keluarga) in the register. The No. KK is an attribute with history, not the key."""

    no_kk = models.CharField(_("No. KK"), max_length=16, db_index=True)
    desa = models.ForeignKey(
        Region,
        verbose_name=_("village (desa/kelurahan)"),
        on_delete=models.PROTECT,
        related_name="households",
        limit_choices_to={"level": "village"},
    )
    rt = models.CharField(_("RT"), max_length=3, blank=True)
    rw = models.CharField(_("RW"), max_length=3, blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    lat = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    lng = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)

    # Housing and living conditions (BPS categories)
    floor_area_m2 = models.PositiveIntegerField(
        _("floor area (m²)"), null=True, blank=True, validators=[MaxValueValidator(10000)]
    )
    floor_material = models.CharField(
        _("floor"), max_length=20, choices=c.FloorMaterial.choices, blank=True
    )
    wall_material = models.CharField(
        _("wall"), max_length=20, choices=c.WallMaterial.choices, blank=True
    )
    roof_material = models.CharField(
        _("roof"), max_length=20, choices=c.RoofMaterial.choices, blank=True
    )
    water_source = models.CharField(
        _("drinking water source"), max_length=20, choices=c.WaterSource.choices, blank=True
    )
    toilet = models.CharField(_("toilet"), max_length=10, choices=c.Toilet.choices, blank=True)
    has_septic_tank = models.BooleanField(_("septic tank"), null=True, blank=True)
    lighting = models.CharField(
        _("lighting"), max_length=20, choices=c.Lighting.choices, blank=True
    )
    cooking_fuel = models.CharField(
        _("cooking fuel"), max_length=20, choices=c.CookingFuel.choices, blank=True
    )
    ownership = models.CharField(
        _("house ownership"), max_length=10, choices=c.Ownership.choices, blank=True
    )
    meals_per_day = models.PositiveSmallIntegerField(
        _("meals per day"), null=True, blank=True, validators=[MaxValueValidator(9)]
    )

    # Money: integer rupiah per month
    monthly_expenditure = models.PositiveBigIntegerField(
        _("monthly expenditure (Rp)"), null=True, blank=True, help_text=RUPIAH
    )
    monthly_income = models.PositiveBigIntegerField(
        _("monthly income (Rp)"), null=True, blank=True, help_text=RUPIAH
    )

    # Registers
    desil = models.PositiveSmallIntegerField(
        _("welfare decile (desil)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
    )
    desil_source = models.CharField(
        _("decile source"), max_length=10, choices=c.DesilSource.choices, blank=True
    )
    desil_as_of = models.DateField(_("decile as of"), null=True, blank=True)
    dtsen_id = models.CharField(_("DTSEN ID"), max_length=40, blank=True)
    p3ke_id = models.CharField(_("P3KE ID"), max_length=40, blank=True)
    dtks_id = models.CharField(_("DTKS ID"), max_length=40, blank=True)
    registration_source = models.CharField(
        _("registration source"), max_length=10, choices=c.RegistrationSource.choices
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=c.HouseholdStatus.choices,
        default=c.HouseholdStatus.ACTIVE,
        db_index=True,
    )

    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("registered at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("registered by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    history = HistoricalRecords()

    objects = HouseholdQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("household")
        verbose_name_plural = _("households")
        constraints = [
            models.UniqueConstraint(
                fields=["no_kk"],
                condition=Q(status="active"),
                name="household_active_kk_unique",
            ),
        ]

    def __str__(self):
        return _("Household %(id)s") % {"id": self.pk}


class KkChange(models.Model):
    """Append-only history of a household's No. KK (it changes when a family moves or splits)."""

    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="kk_changes", verbose_name=_("household")
    )
    old_no_kk = models.CharField(_("old No. KK"), max_length=16, blank=True)
    new_no_kk = models.CharField(_("new No. KK"), max_length=16)
    reason = models.CharField(_("reason"), max_length=20, choices=c.KkChangeReason.choices)
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-changed_at", "-id"]
        verbose_name = _("No. KK change")
        verbose_name_plural = _("No. KK changes")

    def __str__(self):
        return f"{self.household_id}: {self.old_no_kk or '-'} -> {self.new_no_kk}"


class MemberQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=c.MemberStatus.ACTIVE)

    def visible_to(self, user):
        from .scoping import member_q

        return self.filter(member_q(user))


class Member(models.Model):
    """A person (anggota keluarga), identified by NIK; in at most one household at a time."""

    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="members", verbose_name=_("household")
    )
    nik = models.CharField(_("NIK"), max_length=16, db_index=True)
    name = models.CharField(_("name"), max_length=150)
    relationship = models.CharField(
        _("relationship to the head"), max_length=20, choices=c.Relationship.choices
    )
    sex = models.CharField(_("sex"), max_length=1, choices=c.Sex.choices)
    birth_date = models.DateField(_("birth date"))
    birth_place = models.CharField(_("birth place"), max_length=100, blank=True)
    marital_status = models.CharField(
        _("marital status"), max_length=10, choices=c.MaritalStatus.choices, blank=True
    )
    education = models.CharField(
        _("education"), max_length=20, choices=c.Education.choices, blank=True
    )
    school_enrolment = models.CharField(
        _("school enrolment"),
        max_length=20,
        choices=c.SchoolEnrolment.choices,
        default=c.SchoolEnrolment.NOT_SCHOOL_AGE,
    )
    work_status = models.CharField(
        _("work status"), max_length=15, choices=c.WorkStatus.choices, blank=True
    )
    occupation = models.CharField(_("occupation"), max_length=100, blank=True)
    disability = models.CharField(
        _("disability"), max_length=15, choices=c.Disability.choices, default=c.Disability.NONE
    )
    chronic_illness = models.BooleanField(_("chronic illness"), default=False)
    health_insurance = models.CharField(
        _("health insurance"),
        max_length=20,
        choices=c.HealthInsurance.choices,
        default=c.HealthInsurance.NONE,
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=c.MemberStatus.choices,
        default=c.MemberStatus.ACTIVE,
        db_index=True,
    )
    left_on = models.DateField(_("left on"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords()

    objects = MemberQuerySet.as_manager()

    class Meta:
        ordering = ["household_id", "id"]
        verbose_name = _("member")
        verbose_name_plural = _("members")
        constraints = [
            models.UniqueConstraint(
                fields=["nik"], condition=Q(status="active"), name="member_active_nik_unique"
            ),
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(status="active", relationship="head"),
                name="household_one_active_head",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_head(self) -> bool:
        return self.relationship == c.Relationship.HEAD


class PersonalDataAccess(models.Model):
    """Append-only log of each view or export of a household's personal data (UU 27/2022).

    It names the household, never the NIK in clear.
    """

    class Action(models.TextChoices):
        VIEW = "view", _("Viewed")
        EXPORT = "export", _("Exported")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("user")
    )
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="+", verbose_name=_("household")
    )
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    channel = models.CharField(_("channel"), max_length=10)  # "html" or "api"
    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("personal data access")
        verbose_name_plural = _("personal data accesses")

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.user_id} {self.action} {self.household_id}"


class VisitQuerySet(models.QuerySet):
    def visible_to(self, user):
        from .scoping import household_q

        return self.filter(household_q(user, prefix="household__"))


class Visit(models.Model):
    """A field worker's visit to a household (kunjungan pendamping), recorded once per client UUID.

    It keeps what the worker saw, what it changed in the register (before/after) and what it
    could not change because the household had changed on the server since the phone loaded it
    (conflicts, resolved by a supervisor).
    """

    uuid = models.UUIDField(_("client UUID"), unique=True, editable=False)
    fingerprint = models.CharField(_("content fingerprint"), max_length=64, editable=False)
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="visits", verbose_name=_("household")
    )
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("field worker"),
    )
    visited_at = models.DateTimeField(_("visited at"), db_index=True)
    lat = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    lng = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    gps_accuracy_m = models.PositiveIntegerField(_("GPS accuracy (m)"), null=True, blank=True)
    distance_m = models.PositiveIntegerField(
        _("distance from the household (m)"), null=True, blank=True
    )
    met = models.CharField(_("who was met"), max_length=20, choices=c.VisitMet.choices)
    monthly_expenditure = models.PositiveBigIntegerField(
        _("monthly expenditure (Rp)"), null=True, blank=True, help_text=RUPIAH
    )
    monthly_income = models.PositiveBigIntegerField(
        _("monthly income (Rp)"), null=True, blank=True, help_text=RUPIAH
    )
    unmet_needs = models.JSONField(_("basic needs not met"), default=list, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    member_changes = models.JSONField(_("member changes reported"), default=list, blank=True)
    household_version = models.PositiveIntegerField(_("household version seen"))
    changes = models.JSONField(_("changes made (before/after)"), default=list, blank=True)
    conflicts = models.JSONField(_("conflicting changes"), default=list, blank=True)
    conflict_status = models.CharField(
        _("conflict"),
        max_length=10,
        choices=c.VisitConflict.choices,
        default=c.VisitConflict.NONE,
        db_index=True,
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("resolved by"),
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolution_note = models.TextField(_("resolution note"), blank=True)
    verified_household = models.BooleanField(_("verified the household"), default=False)
    created_at = models.DateTimeField(_("received at"), auto_now_add=True)
    history = HistoricalRecords()

    objects = VisitQuerySet.as_manager()

    class Meta:
        ordering = ["-visited_at", "-id"]
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        indexes = [models.Index(fields=["household", "-visited_at"], name="visit_household_at")]

    def __str__(self):
        return _("Visit to household %(household)s on %(at)s") % {
            "household": self.household_id,
            "at": f"{self.visited_at:%Y-%m-%d}",
        }

    @property
    def is_far(self) -> bool:
        return self.distance_m is not None and self.distance_m > settings.VISIT_FAR_METRES


class VisitPhoto(models.Model):
    """A photo taken on a visit: checked by content, resized, re-encoded without EXIF."""

    visit = models.ForeignKey(
        Visit, on_delete=models.CASCADE, related_name="photos", verbose_name=_("visit")
    )
    image = models.ImageField(_("photo"), upload_to="visits/%Y/%m/")
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    size_bytes = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256 of the upload"), max_length=64)

    class Meta:
        ordering = ["visit_id", "id"]
        verbose_name = _("visit photo")
        verbose_name_plural = _("visit photos")

    def __str__(self):
        return f"{self.visit_id}: {self.image.name}"
