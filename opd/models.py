from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from regions.models import Level, Region


class OrganisationKind(models.TextChoices):
    OPD = "opd", _("Government agency (OPD)")
    CSR = "csr", _("Company (CSR)")
    BANK = "bank", _("Bank")
    OTHER = "other", _("Other")


class Role(models.TextChoices):
    PROVINCIAL_ADMIN = "provincial_admin", _("Provincial administrator")
    DISTRICT_STAFF = "district_staff", _("District staff")
    OPD_OFFICER = "opd_officer", _("OPD officer")
    FIELD_WORKER = "field_worker", _("Field worker")
    CSR_PARTNER = "csr_partner", _("CSR partner")
    AUDITOR = "auditor", _("Auditor")
    BANK_OFFICER = "bank_officer", _("Bank officer")


# Which levels a role's area scope may be set to; None (whole province) where listed.
ROLE_AREA_LEVELS = {
    Role.PROVINCIAL_ADMIN: {None, Level.PROVINCE},
    Role.DISTRICT_STAFF: {Level.REGENCY},
    Role.OPD_OFFICER: {None, Level.PROVINCE, Level.REGENCY},
    Role.FIELD_WORKER: {Level.DISTRICT, Level.VILLAGE},
    Role.CSR_PARTNER: {None, Level.PROVINCE},
    Role.AUDITOR: {None, Level.PROVINCE, Level.REGENCY},
    Role.BANK_OFFICER: {None, Level.PROVINCE, Level.REGENCY},
}


class Organisation(models.Model):
    """Who acts: an OPD agency (the provincial Dinas Sosial is one), a CSR company or a bank."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    short_name = models.CharField(_("short name"), max_length=50, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=OrganisationKind.choices)
    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("The government level it belongs to (province or kabupaten/kota)."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self):
        return self.short_name


class Membership(models.Model):
    """A user's role in an organisation, limited to an area (a region subtree)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    area = models.ForeignKey(
        Region,
        verbose_name=_("area"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("Empty means the whole province."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["user__username", "role"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation", "role"], name="membership_unique_role"
            )
        ]

    def __str__(self):
        return f"{self.user} · {self.get_role_display()} · {self.area or _('Banten')}"

    def clean(self):
        allowed = ROLE_AREA_LEVELS[Role(self.role)] if self.role else set()
        level = self.area.level if self.area_id else None
        if self.role and level not in allowed:
            raise ValidationError({"area": _("This role cannot be scoped to this kind of area.")})
        is_csr_org = self.organisation_id and self.organisation.kind == OrganisationKind.CSR
        if self.role == Role.CSR_PARTNER and not is_csr_org:
            raise ValidationError(
                {"organisation": _("A CSR partner must belong to a CSR company.")}
            )
        is_bank = self.organisation_id and self.organisation.kind == OrganisationKind.BANK
        if self.role == Role.BANK_OFFICER and not is_bank:
            raise ValidationError({"organisation": _("A bank officer must belong to a bank.")})
