from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from households.choices import RegistrationSource
from households.models import Household
from regions.models import Region

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
        _("state"), max_length=12, choices=State.choices, default=State.REGISTERED, db_index=True
    )
    since = models.DateTimeField(_("since"))
    latest_assessment = models.ForeignKey(
        "Assessment",
        verbose_name=_("latest assessment"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
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

    def __str__(self):
        return f"{self.household_id}: {self.state}"


class Assessment(models.Model):
    """One evaluation of a household against a rule set, with its inputs and reasons in words."""

    household = models.ForeignKey(
        Household,
        verbose_name=_("household"),
        on_delete=models.CASCADE,
        related_name="assessments",
    )
    rule_set = models.ForeignKey(
        RuleSet, verbose_name=_("rule set"), on_delete=models.PROTECT, related_name="+"
    )
    assessed_at = models.DateTimeField(_("assessed at"), db_index=True)
    inputs = models.JSONField(_("inputs"))
    verdict = models.JSONField(_("verdict"))  # evaluation.Verdict.as_dict(): worded when shown
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
        return 100 if not self.total else min(100, round(100 * self.processed / self.total))
