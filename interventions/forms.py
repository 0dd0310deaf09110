"""HTML forms of the tier pathway, the rule-set editor and the recalculation page.

They check the input's shape only; the services apply the rules, and their ValidationErrors are
put back on these forms (``add_service_errors``, ``add_rule_errors``) next to the matching field.
"""

import copy
import json

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from households import choices as c
from households.forms import BootstrapMixin
from opd.access import Access
from regions.models import Level, Region

from .pathway import ALLOWED_MANUAL, EXITED, ExitReason, State, is_regular
from .rules import NEED_NAMES, NEEDS, validate_rules

EXTREME_POOR_RULES = (
    (
        "spending_or_desil",
        _("Spending below the extreme-poverty line, or desil within the cut-off"),
    ),
    (
        "spending_and_desil",
        _("Spending below the extreme-poverty line and desil within the cut-off"),
    ),
    ("spending_only", _("Spending below the extreme-poverty line only")),
)
GRADUATION_LINES = (
    ("extreme", _("The extreme-poverty line")),
    ("provincial", _("The provincial poverty line")),
)


class FormMixin(BootstrapMixin):
    """Bootstrap classes, except on groups of checkboxes (each box is styled in the template)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field.widget, forms.CheckboxSelectMultiple):
                field.widget.attrs.pop("class", None)


# --- pathway ----------------------------------------------------------------------------------


class VerifyForm(FormMixin, forms.Form):
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": _("Verified in the field.")}),
    )


class CaseChangeForm(FormMixin, forms.Form):
    """A staff move on the pathway. The reason and the exit reason are checked by the service
    (``case_change``), so its messages appear next to the fields."""

    to_state = forms.ChoiceField(label=_("New stage"))
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "required": True}),
        help_text=_("Required. Kept with the change and shown in the timeline."),
    )
    exit_reason = forms.ChoiceField(
        label=_("Exit reason"),
        required=False,
        choices=[("", "—"), *ExitReason.choices],
    )

    def __init__(self, *args, current: str, exit_reason_url: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        labels = dict(State.choices)
        targets = ALLOWED_MANUAL.get(current, frozenset())
        self.fields["to_state"].choices = [
            ("", "—"),
            *(
                (
                    state,
                    labels[state]
                    if is_regular(current, state)
                    else _("%(state)s (override)") % {"state": labels[state]},
                )
                for state in State.values
                if state in targets
            ),
        ]
        if exit_reason_url:
            self.fields["to_state"].widget.attrs.update(
                {
                    "hx-get": exit_reason_url,
                    "hx-trigger": "change",
                    "hx-target": "#exit-reason-slot",
                    "hx-include": "this",
                    "hx-swap": "innerHTML",
                }
            )

    @property
    def shows_exit_reason(self) -> bool:
        """The exit reason is asked for when the chosen stage is "exited" (or it has an error)."""
        if self["exit_reason"].errors:
            return True
        value = self.data.get(self.add_prefix("to_state")) if self.is_bound else None
        return value == EXITED


# --- rule sets --------------------------------------------------------------------------------

#: Form field -> its path in the rule set (the "main numbers"; criteria go in the JSON field).
RULE_PATHS: dict[str, tuple[str, ...]] = {
    "year": ("year",),
    "extreme_poverty_line": ("extreme_poverty_line",),
    "poverty_line": ("poverty_line",),
    "desil_cutoff": ("desil_cutoff",),
    "extreme_poor_rule": ("extreme_poor_rule",),
    **{f"critical_{need}": ("deprivations", need, "critical") for need in NEEDS},
    "tier2_max_unmet": ("tiers", "tier2", "max_unmet_critical_needs"),
    "tier2_min_working": ("tiers", "tier2", "min_working_age_members"),
    "tier2_age_min": ("tiers", "tier2", "working_age_min"),
    "tier2_age_max": ("tiers", "tier2", "working_age_max"),
    "tier2_excluded": ("tiers", "tier2", "excluded_work_statuses"),
    "tier3_max_unmet": ("tiers", "tier3", "max_unmet_critical_needs"),
    "tier3_min_trained": ("tiers", "tier3", "min_trained_members"),
    "tier3_group": ("tiers", "tier3", "requires_active_group"),
    "graduation_line": ("graduation", "spending_above"),
    "graduation_assessments": ("graduation", "consecutive_assessments"),
    "graduation_months": ("graduation", "min_months_between"),
    "graduation_max_unmet": ("graduation", "max_unmet_critical_needs"),
    "graduation_monitoring": ("graduation", "monitoring_months"),
}
FIELD_FOR_PATH = {".".join(path): name for name, path in RULE_PATHS.items()}


class PrettyJSONField(forms.JSONField):
    def to_python(self, value):
        try:
            return super().to_python(value)
        except RecursionError as exc:  # absurdly deep nesting is not a rule set
            raise forms.ValidationError(_("The JSON is nested too deeply.")) from exc
        except forms.ValidationError as exc:
            if where := _where_json_breaks(value):
                raise forms.ValidationError(where, code="invalid") from exc
            raise

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, ensure_ascii=False, indent=2)


def _where_json_breaks(text) -> str | None:
    """Where a text stops being JSON, in words a person can act on."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return _(
            "This is not valid JSON: look at line %(line)s, column %(column)s (usually a "
            "missing comma, quote or bracket just before it)."
        ) % {"line": exc.lineno, "column": exc.colno}
    except (TypeError, ValueError, RecursionError):
        return None
    return None


def _number(label, help_text=""):
    # No bounds here: the service's validation says what is allowed, next to the field.
    return forms.IntegerField(label=label, help_text=help_text)


def _flag(label):
    return forms.BooleanField(label=label, required=False)


class RuleSetForm(FormMixin, forms.Form):
    """The main numbers of a draft rule set, plus its deprivation criteria as JSON."""

    name = forms.CharField(label=_("Name"), max_length=120, required=False)
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    year = _number(_("Year the lines apply to"))
    extreme_poverty_line = _number(
        _("Extreme-poverty line (Rp per person per month)"),
        _("BPS: Rp 391.000 for the World Bank USD 2.15 PPP line."),
    )
    poverty_line = _number(_("Provincial poverty line (Rp per person per month)"))
    desil_cutoff = _number(
        _("Desil cut-off"), _("A household in this desil or lower counts as extreme poor.")
    )
    extreme_poor_rule = forms.ChoiceField(label=_("Extreme poor when"), choices=EXTREME_POOR_RULES)
    tier2_max_unmet = _number(_("Most unmet critical needs allowed"))
    tier2_min_working = _number(_("Working-age members able to train, at least"))
    tier2_age_min = _number(_("Working age from"))
    tier2_age_max = _number(_("Working age to"))
    tier2_excluded = forms.MultipleChoiceField(
        label=_("Members who do not count as able to train"),
        required=False,
        choices=c.WorkStatus.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    tier3_max_unmet = _number(_("Most unmet critical needs allowed"))
    tier3_min_trained = _number(_("Members who completed training, at least"))
    tier3_group = _flag(_("Requires membership of an active group"))
    graduation_line = forms.ChoiceField(label=_("Spending at or above"), choices=GRADUATION_LINES)
    graduation_assessments = _number(_("Consecutive assessments"))
    graduation_months = _number(_("Months between them, at least"))
    graduation_max_unmet = _number(_("Most unmet critical needs allowed"))
    graduation_monitoring = _number(_("Months of monitoring after graduation"))
    deprivations = PrettyJSONField(
        label=_("Deprivation criteria (advanced, JSON)"),
        widget=forms.Textarea(attrs={"rows": 18, "class": "font-monospace small"}),
        help_text=_(
            'For each need, its "label" and its "criteria": the need is unmet when any '
            "criterion holds (an empty list: never unmet). Whether a need is critical is set "
            "with the boxes above."
        ),
    )

    groups = (
        (_("Rule set"), ("name", "notes")),
        (
            _("Poverty lines"),
            ("year", "extreme_poverty_line", "poverty_line", "desil_cutoff", "extreme_poor_rule"),
        ),
        (_("Critical needs"), tuple(f"critical_{need}" for need in NEEDS)),
        (
            _("Tier 2 entry (individual empowerment)"),
            (
                "tier2_max_unmet",
                "tier2_min_working",
                "tier2_age_min",
                "tier2_age_max",
                "tier2_excluded",
            ),
        ),
        (
            _("Tier 3 entry (group empowerment)"),
            ("tier3_max_unmet", "tier3_min_trained", "tier3_group"),
        ),
        (
            _("Graduation"),
            (
                "graduation_line",
                "graduation_assessments",
                "graduation_months",
                "graduation_max_unmet",
                "graduation_monitoring",
            ),
        ),
        (_("Advanced"), ("deprivations",)),
    )

    def __init__(self, *args, rule_set, **kwargs):
        self.base_rules = rule_set.rules
        if not args and "data" not in kwargs:
            kwargs["initial"] = self.initial_from(rule_set)
        super().__init__(*args, **kwargs)
        for need in NEEDS:
            field = self.fields[f"critical_{need}"] = _flag(NEED_NAMES[need])
            field.widget.attrs["class"] = "form-check-input"
        self.order_fields([name for _title, names in self.groups for name in names])

    def fieldsets(self):
        """(title, bound fields) per group, in the order of ``groups``."""
        return [(title, [self[name] for name in names]) for title, names in self.groups]

    @staticmethod
    def initial_from(rule_set) -> dict:
        rules = rule_set.rules
        initial = {"name": rule_set.name, "notes": rule_set.notes}
        for name, path in RULE_PATHS.items():
            value = rules
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            initial[name] = value
        initial["deprivations"] = {
            need: {k: copy.deepcopy(v) for k, v in spec.items() if k != "critical"}
            for need, spec in rules.get("deprivations", {}).items()
        }
        return initial

    def clean_deprivations(self):
        data = self.cleaned_data["deprivations"]
        if not isinstance(data, dict):
            raise ValidationError(
                _("Must be a JSON object with one entry per need: %(needs)s.")
                % {"needs": ", ".join(NEEDS)}
            )
        missing = [need for need in NEEDS if need not in data]
        if missing:
            raise ValidationError(
                _("Missing needs: %(needs)s. Every need needs an entry.")
                % {"needs": ", ".join(missing)}
            )
        for need, spec in data.items():
            if isinstance(spec, dict) and "critical" in spec:
                raise ValidationError(
                    _("'%(need)s': set whether a need is critical with the boxes above, not here.")
                    % {"need": need}
                )
        return data

    def rules(self) -> dict:
        """The rule set as edited: the draft's rules with the form's values written in (on an
        invalid form, the valid ones; the draft's value stands for the others)."""
        rules = copy.deepcopy(self.base_rules)
        data = self.cleaned_data
        if "deprivations" in data:
            rules["deprivations"] = {
                need: ({**spec} if isinstance(spec, dict) else spec)
                for need, spec in data["deprivations"].items()
            }
        for name, path in RULE_PATHS.items():
            if name not in data:
                continue
            target = rules
            for key in path[:-1]:
                if not isinstance(target.get(key), dict):
                    target[key] = {}
                target = target[key]
            target[path[-1]] = data[name]
        return rules

    def check_rules(self) -> None:
        """On an invalid form, the rule set's own checks of the values that are valid, so
        every error shows in one round. A field that already has an error gets no second one
        (its draft value stood in for it). Nothing is saved."""
        try:
            validate_rules(self.rules())
        except ValidationError as exc:
            if not hasattr(exc, "error_dict"):
                self.add_rule_errors(exc)
                return
            wrong = set(self.errors)
            keys = {f"rules.{k}": m for k, m in exc.message_dict.items()}  # as the service's
            kept = {k: m for k, m in keys.items() if self._field_for(k) not in wrong}
            if kept:
                self.add_rule_errors(ValidationError(kept))

    def _field_for(self, key: str) -> str | None:
        """The field a service error key ("name", "rules.<path>") belongs to; None: the top."""
        if key in self.fields:
            return key
        path = key.removeprefix("rules.") if key.startswith("rules.") else ""
        if path in FIELD_FOR_PATH:
            return FIELD_FOR_PATH[path]
        return "deprivations" if path.startswith("deprivations") else None

    def add_rule_errors(self, exc: ValidationError) -> None:
        """Put the service's errors ("name", "rules.<path>") next to the matching field, or at
        the top with their path."""
        if not hasattr(exc, "error_dict"):
            self.add_error(None, exc.messages)
            return
        for key, messages in exc.message_dict.items():
            field = self._field_for(key)
            path = key.removeprefix("rules.") if key.startswith("rules.") else ""
            if field == "deprivations" and key != "deprivations":
                where = path.removeprefix("deprivations").lstrip(".")
                self.add_error(field, [f"{where}: {m}" if where else m for m in messages])
            elif field is not None:
                self.add_error(field, messages)
            else:
                self.add_error(None, [f"{path or key}: {m}" for m in messages])


# --- recalculation ----------------------------------------------------------------------------


class JobStartForm(FormMixin, forms.Form):
    """Recalculate the whole province or a region the user covers."""

    region = forms.ChoiceField(label=_("Area"), required=False)

    def __init__(self, *args, access: Access, **kwargs):
        super().__init__(*args, **kwargs)
        regions = (
            Region.objects.filter(level__in=[Level.REGENCY, Level.DISTRICT])
            .filter(access.area_q("code"))
            .order_by("code")
            .only("code", "name", "level")
        )
        choices = [("", _("The whole province"))] if access.whole_province else []
        for region in regions:
            indent = "\u2003" if region.level == Level.DISTRICT else ""
            choices.append((region.code, f"{indent}{region.name}"))
        self.fields["region"].choices = choices
        self.fields["region"].required = not access.whole_province

    def clean_region(self) -> Region | None:
        code = self.cleaned_data["region"]
        if not code:
            return None
        return Region.objects.get(code=code)
