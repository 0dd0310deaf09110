"""HTML forms of tier 3 (groups, business records, KUR, repayments, follow-ups): shape only.

The services apply the rules; their field errors come back next to the matching field.
"""

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from households.choices import MemberStatus
from households.models import Member
from opd.access import Access
from opd.models import Organisation, OrganisationKind, Role
from regions.models import Level, Region

from .forms import FormMixin
from .models import GroupKind, GroupRole, GroupStatus, KurScheme, KurStatus

DATE = {"type": "date"}
CHOOSE = _("Choose…")


def _date_field(label, required=True, **kwargs):
    return forms.DateField(
        label=label,
        required=required,
        widget=forms.DateInput(format="%Y-%m-%d", attrs=DATE),
        **kwargs,
    )


def _rupiah(label, required=True):
    return forms.IntegerField(
        label=label,
        required=required,
        min_value=0,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 1}),
        help_text=_("Whole rupiah, digits only."),
    )


class GroupForm(FormMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    kind = forms.ChoiceField(label=_("Kind"), choices=GroupKind.choices)
    sector = forms.CharField(
        label=_("Business sector"), max_length=100, help_text=_("e.g. food stall, handicraft")
    )
    desa = forms.ModelChoiceField(label=_("Desa/kelurahan"), queryset=Region.objects.none())
    founded_on = _date_field(_("Founded on"))
    facilitator = forms.ModelChoiceField(
        label=_("Facilitator"),
        queryset=get_user_model().objects.none(),
        required=False,
        help_text=_("A field worker or an OPD officer."),
    )

    def __init__(self, *args, access: Access, **kwargs):
        super().__init__(*args, **kwargs)
        villages = Region.objects.filter(level=Level.VILLAGE)
        if not access.whole_province:
            villages = villages.filter(access.area_q("code"))
        self.fields["desa"].queryset = villages.order_by("code")
        self.fields["desa"].label_from_instance = lambda r: f"{r.name} ({r.code})"
        self.fields["facilitator"].queryset = (
            get_user_model()
            .objects.filter(
                memberships__role__in=[Role.FIELD_WORKER, Role.OPD_OFFICER],
                memberships__is_active=True,
            )
            .distinct()
            .order_by("username")
        )


class MemberAddForm(FormMixin, forms.Form):
    member = forms.ModelChoiceField(label=_("Person"), queryset=Member.objects.none())
    role = forms.ChoiceField(label=_("Role"), choices=GroupRole.choices, initial=GroupRole.MEMBER)

    def __init__(self, *args, user, group, **kwargs):
        super().__init__(*args, **kwargs)
        # People of the group's kecamatan in the user's reach; the service checks the rest.
        kecamatan = group.desa.code.rsplit(".", 1)[0]
        self.fields["member"].queryset = (
            Member.objects.visible_to(user)
            .filter(
                status=MemberStatus.ACTIVE,
                household__desa__code__startswith=kecamatan + ".",
                household__case__state__in=["tier2", "tier3"],
            )
            .select_related("household")
            .order_by("name")
        )
        self.fields["member"].label_from_instance = lambda m: f"{m.name} · #{m.household_id}"


class MoveMixin:
    """A status move: nothing chosen at first, and the reason marked as the service needs it.

    Whether a reason is needed is the service's rule, and its message appears next to the field:
    ``offer`` runs when the page is drawn, after any validation, and changes only what is shown.
    """

    reason_field = "reason"

    def offer(self, choices, *, needs_reason) -> None:
        """Offer `choices` (the moves the user may make now; the service checks again) after a
        blank one. The reason is marked required when every one of them needs it, or its help
        says for which it is."""
        self.fields["to_status"].choices = [("", CHOOSE), *choices]
        needed = [str(label) for value, label in choices if value in needs_reason]
        field = self.fields[self.reason_field]
        if needed and len(needed) == len(choices):
            field.required = True
        elif needed:
            field.help_text = _("Required for: %(statuses)s.") % {"statuses": ", ".join(needed)}
            self[self.reason_field].help_text = field.help_text  # a bound form copied it


class StatusForm(MoveMixin, FormMixin, forms.Form):
    to_status = forms.ChoiceField(
        label=_("New status"), choices=[("", CHOOSE), *GroupStatus.choices]
    )
    reason = forms.CharField(
        label=_("Reason"), required=False, max_length=2000, widget=forms.TextInput()
    )


class BusinessRecordForm(FormMixin, forms.Form):
    month = forms.CharField(
        label=_("Month"), widget=forms.TextInput(attrs={"type": "month"}), max_length=10
    )
    revenue = _rupiah(_("Revenue (Rp)"))
    costs = _rupiah(_("Costs (Rp)"))
    profit_per_member = _rupiah(_("Profit shared per member (Rp)"), required=False)
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)


class KurForm(FormMixin, forms.Form):
    scheme = forms.ModelChoiceField(
        label=_("Scheme"), queryset=KurScheme.objects.filter(is_active=True)
    )
    bank = forms.ModelChoiceField(
        label=_("Distributing bank"),
        queryset=Organisation.objects.filter(kind=OrganisationKind.BANK, is_active=True),
    )
    amount = _rupiah(_("Amount (Rp)"))
    tenor_months = forms.IntegerField(label=_("Tenor (months)"), min_value=1, max_value=360)
    purpose = forms.CharField(
        label=_("Purpose"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class KurMoveForm(MoveMixin, FormMixin, forms.Form):
    reason_field = "note"

    to_status = forms.ChoiceField(label=_("Move to"), choices=[("", CHOOSE), *KurStatus.choices])
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)
    disbursed_on = _date_field(
        _("Disbursed on"), required=False, help_text=_("Only when disbursing; empty: today.")
    )


class RepaymentForm(FormMixin, forms.Form):
    paid_on = _date_field(_("Paid on"))
    amount = _rupiah(_("Amount (Rp)"))
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)


class ResolveForm(FormMixin, forms.Form):
    note = forms.CharField(
        label=_("What was done"), required=False, max_length=2000, widget=forms.TextInput()
    )
