from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from households.choices import RegistrationSource
from households.models import Household
from regions.models import Region

from .compact import CompactInputsField, CompactVerdictField
from .evaluation import Verdict
from .pathway import ExitReason, State, reason_text


class RuleSetStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("In force")
    RETIRED = "retired", _("Retired")


class RuleSetQuerySet(models.QuerySet):
    def in_force(self):
        return self.filter(status=RuleSetStatus.PUBLISHED)


class RuleSet(models.Model):
    """A versioned set of eligibility rules (lines, deprivations, tier and graduation criteria).

    Drafts are edited; publishing one retires the set in force. Past versions are never deleted.
    """

    version = models.PositiveIntegerField(_("version"), unique=True)
    name = models.CharField(_("name"), max_length=120)
    status = models.CharField(
        _("status"), max_length=10, choices=RuleSetStatus.choices, default=RuleSetStatus.DRAFT
    )
    rules = models.JSONField(_("rules"))
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    history = HistoricalRecords()

    objects = RuleSetQuerySet.as_manager()

    class Meta:
        ordering = ["-version"]
        verbose_name = _("rule set")
        verbose_name_plural = _("rule sets")
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="published"), name="one_rule_set_in_force"
            )
        ]

    def __str__(self):
        return f"v{self.version} · {self.name}"


class Case(models.Model):
    """Where a household stands on the tier pathway now (one row per household)."""

    household = models.OneToOneField(
        Household,
        verbose_name=_("household"),
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="case",
    )
    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.REGISTERED
    )
    since = models.DateTimeField(_("since"))
    # No database constraint or index: assessments are never deleted on their own (only with
    # their household, and so with this case), and checking the key of every row a batch writes
    # cost the server about a tenth of a recalculation.
    latest_assessment = models.ForeignKey(
        "Assessment",
        verbose_name=_("latest assessment"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    # Fingerprint of the inputs and rule set of the latest assessment: an unchanged household is
    # not assessed again, so a rerun of a batch writes nothing.
    fingerprint = models.CharField(_("fingerprint"), max_length=40, blank=True)
    # The latest assessments as the pathway needs them: [[iso date, spending, meets_graduation]].
    recent = models.JSONField(_("recent assessments"), default=list, blank=True)
    is_overridden = models.BooleanField(_("manual override"), default=False)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        indexes = [models.Index(fields=["state"], name="interventions_case_state")]

    def __str__(self):
        return f"{self.household_id}: {self.state}"


class Assessment(models.Model):
    """One evaluation of a household against a rule set, with its inputs and reasons in words."""

    household = models.ForeignKey(
        Household,
        verbose_name=_("household"),
        on_delete=models.CASCADE,
        related_name="assessments",
        db_index=False,  # the (household, -assessed_at) index below serves every lookup
        # Django deletes a household's assessments with it (households are never deleted: their
        # members protect them). A database check of this key, with the row lock it takes on
        # the household, was the largest server cost of writing a batch's assessments.
        db_constraint=False,
    )
    # Rule sets and jobs are records nobody deletes (their admin is read-only, a published rule
    # set is kept for ever): no database constraint on these keys, which a batch would otherwise
    # check for each of the million rows it writes. Django still protects the rule set.
    rule_set = models.ForeignKey(
        RuleSet,
        verbose_name=_("rule set"),
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
    )
    assessed_at = models.DateTimeField(_("assessed at"), db_index=True)
    # Stored compact (positional arrays), read back as HouseholdFacts.as_dict() and
    # Verdict.as_dict() (worded when shown): see interventions/compact.py.
    inputs = CompactInputsField(_("inputs"))
    verdict = CompactVerdictField(_("verdict"))
    extreme_poor = models.BooleanField(_("extreme poor"))
    spending_per_person = models.PositiveBigIntegerField(
        _("spending per person (Rp/month)"), null=True, blank=True
    )
    unmet_needs = models.JSONField(_("unmet needs"), default=list)
    recommended_tier = models.PositiveSmallIntegerField(_("recommended tier"))
    meets_graduation = models.BooleanField(_("meets graduation criteria"))
    fingerprint = models.CharField(_("fingerprint"), max_length=40)
    job = models.ForeignKey(
        "RecalculationJob",
        verbose_name=_("job"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )

    class Meta:
        ordering = ["-assessed_at", "-id"]
        verbose_name = _("assessment")
        verbose_name_plural = _("assessments")
        indexes = [models.Index(fields=["household", "-assessed_at"])]

    def __str__(self):
        return f"{self.household_id} @ {self.assessed_at:%Y-%m-%d}"

    @cached_property
    def result(self) -> Verdict:
        return Verdict.from_dict(self.verdict)

    @property
    def summary(self) -> str:
        return self.result.summary()


class VerdictLayout(models.Model):
    """What every verdict of one rule set repeats: each line's code, need, threshold, detail.

    Assessments written by a batch store their verdict against a layout (``compact``, format
    2). The key is a hash of the content: a layout never changes, and equal layouts are one row.
    """

    key = models.CharField(_("key"), max_length=16, primary_key=True)
    lines = models.JSONField(_("lines"))

    class Meta:
        verbose_name = _("verdict layout")
        verbose_name_plural = _("verdict layouts")

    def __str__(self):
        return self.key


class TransitionKind(models.TextChoices):
    AUTOMATIC = "automatic", _("Automatic")
    RELAPSE = "relapse", _("Relapse")
    MANUAL = "manual", _("By staff")
    OVERRIDE = "override", _("Manual override")


class Transition(models.Model):
    """An append-only record of a move on the pathway: from, to, when, who, why, on what proof."""

    household = models.ForeignKey(
        Household,
        verbose_name=_("household"),
        on_delete=models.CASCADE,
        related_name="transitions",
    )
    from_state = models.CharField(_("from"), max_length=12, choices=State.choices)
    to_state = models.CharField(_("to"), max_length=12, choices=State.choices)
    at = models.DateTimeField(_("at"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty when the system made the move."),
    )
    kind = models.CharField(_("kind"), max_length=12, choices=TransitionKind.choices)
    # Automatic moves store a code and figures, worded in the reader's language when shown;
    # staff moves store their own words.
    reason_code = models.CharField(_("reason code"), max_length=20, blank=True)
    reason_params = models.JSONField(_("reason figures"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    exit_reason = models.CharField(
        _("exit reason"), max_length=20, choices=ExitReason.choices, blank=True
    )
    assessment = models.ForeignKey(
        Assessment,
        verbose_name=_("assessment"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("transition")
        verbose_name_plural = _("transitions")

    def __str__(self):
        return f"{self.household_id}: {self.from_state} -> {self.to_state}"

    @property
    def is_override(self) -> bool:
        return self.kind == TransitionKind.OVERRIDE

    @property
    def reason_text(self) -> str:
        if self.reason_code == "verified":
            return self.reason or str(_("Verified in the field."))
        if self.reason_code == "imported":
            register = RegistrationSource(self.reason_params["register"]).label
            return str(_("Imported from %(register)s, which verified it.") % {"register": register})
        if self.reason_code:
            return reason_text(self.reason_code, self.reason_params)
        return self.reason


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class RecalculationJob(models.Model):
    """A batch re-evaluation of the province or a region, resumable from its last chunk."""

    class Trigger(models.TextChoices):
        MANUAL = "manual", _("On demand")
        RULES = "rules", _("Rule set published")
        NIGHTLY = "nightly", _("Nightly")

    region = models.ForeignKey(
        Region,
        verbose_name=_("region"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text=_("Empty means the whole province."),
    )
    trigger = models.CharField(_("trigger"), max_length=10, choices=Trigger.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    total = models.PositiveIntegerField(_("households"), default=0)
    processed = models.PositiveIntegerField(_("processed"), default=0)
    assessed = models.PositiveIntegerField(_("assessed"), default=0)
    moved = models.PositiveIntegerField(_("moved"), default=0)
    last_household_id = models.BigIntegerField(_("resume after household"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("recalculation job")
        verbose_name_plural = _("recalculation jobs")

    def __str__(self):
        return f"#{self.pk} {self.trigger} {self.status}"

    @property
    def percent(self) -> int:
        if not self.total:  # not counted yet (queued), or nothing to do (done)
            return 100 if self.status == JobStatus.DONE else 0
        return min(100, round(100 * self.processed / self.total))


# --- programme catalogue ----------------------------------------------------------------------


class Strategy(models.TextChoices):
    """The national strategy a programme serves (Inpres 4/2022 and 8/2025)."""

    REDUCE_BURDEN = "reduce_burden", _("Reduce the expenditure burden")
    RAISE_INCOME = "raise_income", _("Raise income")
    REDUCE_POCKETS = "reduce_pockets", _("Reduce poverty pockets")


class FundingSource(models.TextChoices):
    APBN = "apbn", _("APBN (state budget)")
    APBD_PROVINSI = "apbd_provinsi", _("APBD provinsi (provincial budget)")
    APBD_KABUPATEN = "apbd_kabupaten", _("APBD kabupaten/kota (district budget)")
    CSR = "csr", _("CSR (companies)")
    OTHER = "other", _("Other")


class ProgrammeTier(models.IntegerChoices):
    TIER1 = 1, _("Tier 1 · basic-needs aid")
    TIER2 = 2, _("Tier 2 · individual empowerment")
    TIER3 = 3, _("Tier 3 · group empowerment")


class ProgrammeQuerySet(models.QuerySet):
    def running(self, on):
        """Programmes switched on whose active dates include the date ``on``."""
        return self.filter(is_active=True, active_from__lte=on).filter(
            Q(active_until__isnull=True) | Q(active_until__gte=on)
        )


class Programme(models.Model):
    """An intervention an agency (OPD) offers: the needs it meets, its tier, money and reach.

    ``needs``, ``funding_sources`` and ``eligibility`` are JSON lists checked by the services
    (``interventions.programmes``): need codes of ``rules.NEEDS`` (plus "training" for tier 2 and
    "business" for tier 3), ``FundingSource`` values, and household-fact conditions in the
    rule-set condition language (all must hold; [] = every household).
    """

    code = models.CharField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    owner = models.ForeignKey(
        "opd.Organisation",
        verbose_name=_("owner (OPD)"),
        on_delete=models.PROTECT,
        related_name="programmes",
    )
    tier = models.PositiveSmallIntegerField(_("tier"), choices=ProgrammeTier.choices)
    needs = models.JSONField(_("needs met"), default=list)
    funding_sources = models.JSONField(_("funding sources"), default=list)
    strategy = models.CharField(_("strategy"), max_length=20, choices=Strategy.choices)
    unit = models.CharField(_("unit of delivery"), max_length=60)
    unit_value = models.PositiveBigIntegerField(_("value per unit (Rp)"))
    eligibility = models.JSONField(_("eligibility"), default=list, blank=True)
    target_regions = models.ManyToManyField(
        Region,
        verbose_name=_("target regions"),
        blank=True,
        related_name="+",
        help_text=_("Empty means the whole province."),
    )
    active_from = models.DateField(_("active from"))
    active_until = models.DateField(_("active until"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    source_note = models.TextField(_("source of the amounts"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords(m2m_fields=[target_regions])

    objects = ProgrammeQuerySet.as_manager()

    class Meta:
        ordering = ["tier", "code"]
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")
        constraints = [
            models.CheckConstraint(
                condition=Q(tier__gte=1, tier__lte=3), name="programme_tier_1_to_3"
            ),
            models.CheckConstraint(
                condition=Q(active_until__isnull=True) | Q(active_until__gte=F("active_from")),
                name="programme_active_until_after_from",
            ),
        ]

    def __str__(self):
        return f"{self.code} · {self.name}"

    def covers(self, region_code: str) -> bool:
        """Does the programme reach a region (its targets, or the whole province when none)?
        Reads ``target_regions`` (prefetch it for many programmes)."""
        targets = [region.code for region in self.target_regions.all()]
        return not targets or any(
            region_code == code or region_code.startswith(code + ".") for code in targets
        )


class ProgrammePeriod(models.Model):
    """A budget period of a programme (a year, a semester) with its quota and budget."""

    programme = models.ForeignKey(
        Programme,
        verbose_name=_("programme"),
        on_delete=models.CASCADE,
        related_name="periods",
    )
    name = models.CharField(_("name"), max_length=20, help_text=_('e.g. "2026" or "2026-S1"'))
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    quota = models.PositiveIntegerField(
        _("quota (households)"), null=True, blank=True, help_text=_("Empty means no limit.")
    )
    budget = models.PositiveBigIntegerField(
        _("budget (Rp)"), null=True, blank=True, help_text=_("Empty means no limit.")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["programme", "starts_on"]
        verbose_name = _("programme period")
        verbose_name_plural = _("programme periods")
        constraints = [
            models.UniqueConstraint(fields=["programme", "name"], name="programme_period_name"),
            models.CheckConstraint(
                condition=Q(ends_on__gt=F("starts_on")), name="programme_period_ends_after_start"
            ),
        ]

    def __str__(self):
        return f"{self.programme_id} · {self.name}"


# --- referrals and deliveries -----------------------------------------------------------------


class ReferralStatus(models.TextChoices):
    REFERRED = "referred", _("Waiting for the agency")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


OPEN_STATUSES = (ReferralStatus.REFERRED, ReferralStatus.ACCEPTED)


class Referral(models.Model):
    """A household (or one member) referred to an agency's programme for one need.

    referred -> accepted (quota and budget reserved) or rejected; accepted -> completed (a
    completed referral meets its need) or cancelled. Written only by ``interventions.referrals``.
    """

    household = models.ForeignKey(
        Household,
        verbose_name=_("household"),
        on_delete=models.PROTECT,
        related_name="referrals",
    )
    member = models.ForeignKey(
        "households.Member",
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="referrals",
        help_text=_("For programmes that serve one person (training, school support)."),
    )
    programme = models.ForeignKey(
        Programme,
        verbose_name=_("programme"),
        on_delete=models.PROTECT,
        related_name="referrals",
    )
    period = models.ForeignKey(
        ProgrammePeriod,
        verbose_name=_("period"),
        on_delete=models.PROTECT,
        related_name="referrals",
    )
    need = models.CharField(_("need"), max_length=20)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=ReferralStatus.choices,
        default=ReferralStatus.REFERRED,
        db_index=True,
    )
    planned_value = models.PositiveBigIntegerField(
        _("planned value (Rp)"),
        help_text=_("Reserved against the period's budget when the agency accepts."),
    )
    note = models.TextField(_("note"), blank=True)
    due_on = models.DateField(_("due on"))
    referred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("referred by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    referred_at = models.DateTimeField(_("referred at"), db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    rejection_reason = models.TextField(_("reason for rejection"), blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    cancel_reason = models.TextField(_("reason for cancelling"), blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-referred_at", "-id"]
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        indexes = [
            models.Index(fields=["household", "status"]),
            models.Index(fields=["programme", "status"]),
            models.Index(fields=["period", "status"]),
        ]

    def __str__(self):
        return f"#{self.pk} {self.household_id} -> {self.programme_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_on < timezone.localdate()


class Delivery(models.Model):
    """What an agency delivered on an accepted referral, with optional evidence."""

    referral = models.ForeignKey(
        Referral,
        verbose_name=_("referral"),
        on_delete=models.PROTECT,
        related_name="deliveries",
    )
    delivered_on = models.DateField(_("delivered on"))
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    value = models.PositiveBigIntegerField(_("value (Rp)"))
    note = models.TextField(_("note"), blank=True)
    evidence = models.FileField(_("evidence"), upload_to="evidence/%Y/%m/", blank=True)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("logged by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    logged_at = models.DateTimeField(_("logged at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["delivered_on", "id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="delivery_quantity_positive")
        ]

    def __str__(self):
        return f"#{self.pk} on {self.delivered_on} ({self.referral_id})"


# --- CSR pledges, disbursements and the deliveries they fund -------------------------------------


class PledgeStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ACTIVE = "active", _("Active")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


class Pledge(models.Model):
    """A company's (CSR) promise of an amount of rupiah for a period, optionally for one
    programme, one region (any level) and/or one tier.

    draft -> active (the province accepts it) -> closed; draft or active without disbursements
    -> cancelled. Written only by ``interventions.pledges``.
    """

    company = models.ForeignKey(
        "opd.Organisation",
        verbose_name=_("company"),
        on_delete=models.PROTECT,
        related_name="pledges",
    )
    title = models.CharField(_("title"), max_length=200)
    amount = models.PositiveBigIntegerField(_("amount pledged (Rp)"))
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    programme = models.ForeignKey(
        Programme,
        verbose_name=_("target programme"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="pledges",
        help_text=_("Empty: any programme."),
    )
    region = models.ForeignKey(
        Region,
        verbose_name=_("target region"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty: the whole province."),
    )
    tier = models.PositiveSmallIntegerField(
        _("target tier"),
        choices=ProgrammeTier.choices,
        null=True,
        blank=True,
        help_text=_("Empty: any tier."),
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=PledgeStatus.choices,
        default=PledgeStatus.DRAFT,
        db_index=True,
    )
    note = models.TextField(_("note"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    cancel_reason = models.TextField(_("reason for cancelling"), blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-starts_on", "-id"]
        verbose_name = _("CSR pledge")
        verbose_name_plural = _("CSR pledges")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=F("starts_on")), name="pledge_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(tier__isnull=True) | Q(tier__gte=1, tier__lte=3),
                name="pledge_tier_1_to_3",
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.title}"


class Disbursement(models.Model):
    """Money a company paid out against its pledge (never more, in total, than the pledge)."""

    pledge = models.ForeignKey(
        Pledge,
        verbose_name=_("pledge"),
        on_delete=models.PROTECT,
        related_name="disbursements",
    )
    disbursed_on = models.DateField(_("disbursed on"))
    amount = models.PositiveBigIntegerField(_("amount (Rp)"))
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["disbursed_on", "id"]
        verbose_name = _("disbursement")
        verbose_name_plural = _("disbursements")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=1), name="disbursement_amount_positive")
        ]

    def __str__(self):
        return f"#{self.pk} {self.pledge_id} on {self.disbursed_on}"


class DeliveryFunding(models.Model):
    """The pledge that paid for a delivery (its whole value), recorded with the delivery."""

    delivery = models.OneToOneField(
        Delivery,
        verbose_name=_("delivery"),
        on_delete=models.PROTECT,
        primary_key=True,
        related_name="funding",
    )
    pledge = models.ForeignKey(
        Pledge,
        verbose_name=_("pledge"),
        on_delete=models.PROTECT,
        related_name="fundings",
    )
    amount = models.PositiveBigIntegerField(_("amount (Rp)"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-recorded_at"]
        verbose_name = _("delivery funding")
        verbose_name_plural = _("delivery fundings")

    def __str__(self):
        return f"{self.delivery_id} <- {self.pledge_id}"


# --- tier 3: business groups, KUR credit, graduation and follow-ups ----------------------------


class GroupKind(models.TextChoices):
    KUBE = "kube", _("KUBE (joint business group)")
    UMKM = "umkm", _("UMKM (micro/small business)")
    COOPERATIVE = "cooperative", _("Cooperative")
    OTHER = "other", _("Other")


class GroupStatus(models.TextChoices):
    FORMING = "forming", _("Forming")
    ACTIVE = "active", _("Active")
    DORMANT = "dormant", _("Dormant")
    DISSOLVED = "dissolved", _("Dissolved")


class GroupRole(models.TextChoices):
    CHAIR = "chair", _("Chair")
    TREASURER = "treasurer", _("Treasurer")
    SECRETARY = "secretary", _("Secretary")
    MEMBER = "member", _("Member")


class BusinessGroup(models.Model):
    """A micro/small business group (KUBE, UMKM, cooperative) of people from tier 2/3 households.

    Written only by ``interventions.groups``; every status move is a ``GroupStatusChange``.
    """

    name = models.CharField(_("name"), max_length=150)
    kind = models.CharField(_("kind"), max_length=12, choices=GroupKind.choices)
    sector = models.CharField(_("business sector"), max_length=100)
    desa = models.ForeignKey(
        Region, verbose_name=_("desa/kelurahan"), on_delete=models.PROTECT, related_name="+"
    )
    founded_on = models.DateField(_("founded on"))
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("facilitator"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="facilitated_groups",
        help_text=_("A field worker or an OPD officer who accompanies the group."),
    )
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=GroupStatus.choices,
        default=GroupStatus.FORMING,
        db_index=True,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("business group")
        verbose_name_plural = _("business groups")

    def __str__(self):
        return self.name


class GroupMembership(models.Model):
    """A person in a group with a role. A person is in at most one open group at a time."""

    group = models.ForeignKey(
        BusinessGroup,
        verbose_name=_("group"),
        on_delete=models.PROTECT,
        related_name="memberships",
    )
    member = models.ForeignKey(
        "households.Member",
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="group_memberships",
    )
    role = models.CharField(
        _("role"), max_length=10, choices=GroupRole.choices, default=GroupRole.MEMBER
    )
    joined_on = models.DateField(_("joined on"))
    left_on = models.DateField(_("left on"), null=True, blank=True)
    is_open = models.BooleanField(_("open"), default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["group", "joined_on", "id"]
        verbose_name = _("group membership")
        verbose_name_plural = _("group memberships")
        constraints = [
            models.UniqueConstraint(
                fields=["member"], condition=Q(is_open=True), name="one_open_group_per_person"
            )
        ]

    def __str__(self):
        return f"{self.member_id} in {self.group_id} ({self.role})"


class GroupStatusChange(models.Model):
    """Append-only log of a group's status: from, to, when, who, why."""

    group = models.ForeignKey(
        BusinessGroup,
        verbose_name=_("group"),
        on_delete=models.CASCADE,
        related_name="status_changes",
    )
    from_status = models.CharField(
        _("from"), max_length=10, choices=GroupStatus.choices, blank=True
    )
    to_status = models.CharField(_("to"), max_length=10, choices=GroupStatus.choices)
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reason = models.TextField(_("reason"), blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("group status change")
        verbose_name_plural = _("group status changes")

    def __str__(self):
        return f"{self.group_id}: {self.from_status} -> {self.to_status}"


class BusinessRecord(models.Model):
    """A group's business in one month, in whole rupiah."""

    group = models.ForeignKey(
        BusinessGroup,
        verbose_name=_("group"),
        on_delete=models.PROTECT,
        related_name="business_records",
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    revenue = models.PositiveBigIntegerField(_("revenue (Rp)"))
    costs = models.PositiveBigIntegerField(_("costs (Rp)"))
    profit_per_member = models.BigIntegerField(_("profit shared per member (Rp)"), default=0)
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["group", "-month"]
        verbose_name = _("business record")
        verbose_name_plural = _("business records")
        constraints = [
            models.UniqueConstraint(fields=["group", "month"], name="one_business_record_a_month")
        ]

    def __str__(self):
        return f"{self.group_id} {self.month:%Y-%m}"

    @property
    def profit(self) -> int:
        return self.revenue - self.costs


class KurScheme(models.Model):
    """A KUR scheme as data: ceiling, interest by loan number, how many loans (DOMAIN.md)."""

    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    min_amount = models.PositiveBigIntegerField(_("smallest amount (Rp)"), default=0)
    max_amount = models.PositiveBigIntegerField(_("ceiling (Rp)"))
    rates_bp = models.JSONField(
        _("interest by loan number (basis points a year)"),
        help_text=_("[600, 700, 800, 900]: 6% on the first loan, 7% on the second, ..."),
    )
    max_loans = models.PositiveSmallIntegerField(
        _("most loans per borrower"), null=True, blank=True, help_text=_("Empty: no limit.")
    )
    max_tenor_months = models.PositiveSmallIntegerField(_("longest tenor (months)"), default=60)
    source = models.TextField(_("source"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["max_amount"]
        verbose_name = _("KUR scheme")
        verbose_name_plural = _("KUR schemes")

    def __str__(self):
        return self.name

    def rate_for(self, loan_number: int) -> int:
        rates = list(self.rates_bp or [0])
        return int(rates[min(max(loan_number, 1), len(rates)) - 1])


class KurStatus(models.TextChoices):
    PREPARED = "prepared", _("Prepared")
    SUBMITTED = "submitted", _("Submitted to the bank")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    DISBURSED = "disbursed", _("Disbursed")
    REPAYING = "repaying", _("Repaying")
    IN_ARREARS = "in_arrears", _("In arrears")
    DEFAULTED = "defaulted", _("Defaulted")
    REPAID = "repaid", _("Repaid")


class KurApplication(models.Model):
    """A KUR loan application of a group or of one member, through its whole life."""

    group = models.ForeignKey(
        BusinessGroup,
        verbose_name=_("group"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="kur_applications",
    )
    member = models.ForeignKey(
        "households.Member",
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="kur_applications",
    )
    desa = models.ForeignKey(
        Region,
        verbose_name=_("desa/kelurahan"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The borrower's village (the group's or the member's household's)."),
    )
    scheme = models.ForeignKey(
        KurScheme, verbose_name=_("scheme"), on_delete=models.PROTECT, related_name="+"
    )
    bank = models.ForeignKey(
        "opd.Organisation",
        verbose_name=_("bank"),
        on_delete=models.PROTECT,
        related_name="kur_applications",
    )
    amount = models.PositiveBigIntegerField(_("amount (Rp)"))
    tenor_months = models.PositiveSmallIntegerField(_("tenor (months)"))
    purpose = models.TextField(_("purpose"))
    loan_number = models.PositiveSmallIntegerField(_("loan number"), default=1)
    rate_bp = models.PositiveIntegerField(_("interest (basis points a year)"))
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=KurStatus.choices,
        default=KurStatus.PREPARED,
        db_index=True,
    )
    disbursed_on = models.DateField(_("disbursed on"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("prepared by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("KUR application")
        verbose_name_plural = _("KUR applications")
        constraints = [
            models.CheckConstraint(
                condition=Q(group__isnull=False, member__isnull=True)
                | Q(group__isnull=True, member__isnull=False),
                name="kur_group_or_member",
            )
        ]

    def __str__(self):
        return f"KUR #{self.pk} ({self.status})"

    @property
    def rate_percent(self) -> float:
        return self.rate_bp / 100


class KurStatusChange(models.Model):
    """Append-only log of an application's moves: from, to, when, who, note."""

    application = models.ForeignKey(
        KurApplication,
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        related_name="status_changes",
    )
    from_status = models.CharField(_("from"), max_length=12, choices=KurStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=12, choices=KurStatus.choices)
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty when the system made the move."),
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("KUR status change")
        verbose_name_plural = _("KUR status changes")

    def __str__(self):
        return f"{self.application_id}: {self.from_status} -> {self.to_status}"


class Instalment(models.Model):
    """One line of a loan's repayment schedule (flat interest, whole rupiah)."""

    application = models.ForeignKey(
        KurApplication,
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        related_name="instalments",
    )
    number = models.PositiveSmallIntegerField(_("number"))
    due_on = models.DateField(_("due on"))
    principal = models.PositiveBigIntegerField(_("principal (Rp)"))
    interest = models.PositiveBigIntegerField(_("interest (Rp)"))

    class Meta:
        ordering = ["application", "number"]
        verbose_name = _("instalment")
        verbose_name_plural = _("instalments")
        constraints = [
            models.UniqueConstraint(fields=["application", "number"], name="one_instalment_number")
        ]

    def __str__(self):
        return f"{self.application_id} #{self.number}"

    @property
    def amount(self) -> int:
        return self.principal + self.interest


class Repayment(models.Model):
    """Money paid back on a disbursed loan."""

    application = models.ForeignKey(
        KurApplication,
        verbose_name=_("application"),
        on_delete=models.PROTECT,
        related_name="repayments",
    )
    paid_on = models.DateField(_("paid on"))
    amount = models.PositiveBigIntegerField(_("amount (Rp)"))
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["paid_on", "id"]
        verbose_name = _("repayment")
        verbose_name_plural = _("repayments")

    def __str__(self):
        return f"{self.application_id}: {self.amount} on {self.paid_on}"


class GraduationStatus(models.TextChoices):
    MONITORING = "monitoring", _("Being monitored")
    COMPLETED = "completed", _("Monitoring completed")
    RELAPSED = "relapsed", _("Relapsed")


class Graduation(models.Model):
    """A household's graduation, its evidence, and the monitoring period that follows."""

    household = models.ForeignKey(
        Household,
        verbose_name=_("household"),
        on_delete=models.CASCADE,
        related_name="graduations",
    )
    graduated_on = models.DateField(_("graduated on"))
    transition = models.ForeignKey(
        Transition,
        verbose_name=_("transition"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    assessment = models.ForeignKey(
        Assessment,
        verbose_name=_("assessment"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
    monitoring_until = models.DateField(_("monitored until"))
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=GraduationStatus.choices,
        default=GraduationStatus.MONITORING,
        db_index=True,
    )
    relapsed_at = models.DateTimeField(_("relapsed at"), null=True, blank=True)
    relapse_transition = models.ForeignKey(
        Transition,
        verbose_name=_("relapse transition"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-graduated_on", "-id"]
        verbose_name = _("graduation")
        verbose_name_plural = _("graduations")

    def __str__(self):
        return f"{self.household_id} graduated {self.graduated_on}"


class FollowUpKind(models.TextChoices):
    ARREARS = "arrears", _("Loan in arrears")
    GROUP_DISSOLVED = "group_dissolved", _("Group dissolved")
    RELAPSE = "relapse", _("Relapse after graduation")


class FollowUp(models.Model):
    """Something a field worker should look into (a relapse alert); resolved with a note."""

    household = models.ForeignKey(
        Household,
        verbose_name=_("household"),
        on_delete=models.CASCADE,
        related_name="follow_ups",
    )
    kind = models.CharField(_("kind"), max_length=16, choices=FollowUpKind.choices)
    group = models.ForeignKey(
        BusinessGroup,
        verbose_name=_("group"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    application = models.ForeignKey(
        KurApplication,
        verbose_name=_("KUR application"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    graduation = models.ForeignKey(
        Graduation,
        verbose_name=_("graduation"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    raised_at = models.DateTimeField(_("raised at"), db_index=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    resolution = models.TextField(_("resolution note"), blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-raised_at", "-id"]
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")

    def __str__(self):
        return f"{self.household_id}: {self.kind}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None
