"""HTML forms of the register. They check the input's shape only; the services apply the rules.

A service's ValidationError is put back on these forms with `add_service_errors`, so each message
appears next to its field.
"""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import BLANK_CHOICE_DASH
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from opd.access import Access, reachable_regions
from regions.models import Level, Region

from . import choices as c
from .models import Household, Member
from .region_views import EMPTY_LABELS
from .services import HOUSEHOLD_FIELDS, HOUSING_FIELDS, MEMBER_FIELDS
from .validation import birth_date_problem, kk_check, nik_check

REGION_SELECTS = (
    ("kabupaten", Level.REGENCY),
    ("kecamatan", Level.DISTRICT),
    ("desa", Level.VILLAGE),
)
# Well-formed codes per select; anything else is dropped before it reaches a query.
REGION_CODES = tuple(
    re.compile(p) for p in (r"\d{2}\.\d{2}", r"\d{2}\.\d{2}\.\d{2}", r"\d{2}(\.\d{2}){2}\.\d{4}")
)
MEMBER_KEY = re.compile(r"members\[(\d+)\]\.(\w+)")


class BootstrapMixin:
    """Bootstrap 5 classes on every widget (Django adds aria-invalid to fields with errors), and
    a select's empty choice in words instead of Django's "---------"."""

    blank_label = _("Choose…")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            name_the_blank(field, self.blank_label)
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


def name_the_blank(field: forms.Field, label) -> None:
    """Replace Django's "---------" empty choice of a select with `label`."""
    dash = BLANK_CHOICE_DASH[0][1]
    if isinstance(field, forms.ModelChoiceField):
        if field.empty_label == dash:
            field.empty_label = label
    elif isinstance(field, forms.ChoiceField):
        choices = list(field.choices)
        if choices and choices[0] == ("", dash):
            field.choices = [("", label), *choices[1:]]


class ShapeOnlyModelForm(BootstrapMixin, forms.ModelForm):
    """Model fields as form fields, without the model's validation.

    The services run the model's validation, the uniqueness and identity rules and the area
    check for every entry point, so the form neither repeats them nor touches the instance.
    """

    def _post_clean(self):
        pass


def add_service_errors(
    exc: ValidationError, form: forms.Form, *, others=(), member_forms=()
) -> None:
    """Put a service's ValidationError on the forms.

    A key naming a field of `form` or of one of `others` goes next to that field;
    "members[i].field" goes to `member_forms[i]`; any other key is a non-field error of `form`.
    """
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return
    for key, messages in exc.message_dict.items():
        match = MEMBER_KEY.fullmatch(key)
        if match and int(match[1]) < len(member_forms):
            target = member_forms[int(match[1])]
            name = match[2] if match[2] in target.fields else None
            target.add_error(name, messages)
            continue
        target = next((f for f in (form, *others) if key in f.fields), None)
        if target is None:
            form.add_error(None, messages)
        else:
            target.add_error(key, messages)


# --- regions ----------------------------------------------------------------------------------


class RegionSelectsMixin:
    """kabupaten -> kecamatan -> desa selects limited to the user's area; each narrows the next
    through htmx (GET regions:options returns the child <option>s)."""

    empty = "all"
    preselect_single = False

    def setup_region_selects(self, access: Access) -> None:
        url = reverse("regions:options")
        parent = ""
        for index, (name, level) in enumerate(REGION_SELECTS):
            field = self.fields[name]
            regions = (
                list(reachable_regions(access, level=level, parent_code=parent))
                if index == 0 or parent
                else []
            )
            codes = {r.code for r in regions}
            field.widget.choices = [
                ("", EMPTY_LABELS[self.empty]),
                *((r.code, r.name) for r in regions),
            ]
            value = self.data.get(self.add_prefix(name), "") if self.is_bound else ""
            if not self.is_bound:
                value = self.initial.get(name, "")
                if not value and self.preselect_single and len(regions) == 1:
                    value = self.initial[name] = regions[0].code
            parent = value if value in codes else ""
            if index + 1 < len(REGION_SELECTS):
                child_name, child_level = REGION_SELECTS[index + 1]
                field.widget.attrs.update(
                    {
                        "hx-get": f"{url}?level={child_level.value}&empty={self.empty}",
                        "hx-target": f"#id_{child_name}",
                        "hx-trigger": "change",
                        "hx-include": "this",
                        "hx-push-url": "false",
                        "hx-swap": "innerHTML",
                    }
                )


def clean_region_params(params):
    """A copy of the list's GET parameters with the region filters made consistent.

    A changed kabupaten drops the kecamatan and desa of another one; a desa or kecamatan alone
    fills in its parents so the selects show the path.
    """
    params = params.copy()
    kab, kec, desa = (
        value if pattern.fullmatch(value := params.get(name, "").strip()) else ""
        for (name, _level), pattern in zip(REGION_SELECTS, REGION_CODES, strict=True)
    )
    if kab and kec and not kec.startswith(kab + "."):
        kec = desa = ""
    parent = kec or kab
    if desa and parent and not desa.startswith(parent + "."):
        desa = ""
    if desa and not kec:
        kec = desa.rsplit(".", 1)[0]
    if kec and not kab:
        kab = kec.rsplit(".", 1)[0]
    for (name, _level), value in zip(REGION_SELECTS, (kab, kec, desa), strict=True):
        params.pop(name, None)
        if value:
            params[name] = value
    return params


class HouseholdSearchForm(RegionSelectsMixin, BootstrapMixin, forms.Form):
    """The list's search box and filters (rendering only: HouseholdFilter does the filtering)."""

    blank_label = _("All")

    q = forms.CharField(
        label=_("Search"),
        required=False,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("Name, NIK or No. KK"),
                "autocomplete": "off",
            }
        ),
    )
    kabupaten = forms.CharField(label=_("Regency/city"), required=False, widget=forms.Select)
    kecamatan = forms.CharField(label=_("District"), required=False, widget=forms.Select)
    desa = forms.CharField(label=_("Village"), required=False, widget=forms.Select)
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All")), *c.HouseholdStatus.choices],
    )
    desil = forms.ChoiceField(
        label=_("Decile (desil)"),
        required=False,
        choices=[("", _("All")), *((str(n), str(n)) for n in range(1, 11))],
    )

    def __init__(self, *args, access: Access, **kwargs):
        super().__init__(*args, **kwargs)
        self.setup_region_selects(access)


class LocationForm(RegionSelectsMixin, BootstrapMixin, forms.Form):
    """Where the household lives; the form posts the desa code."""

    empty = "choose"
    preselect_single = True

    kabupaten = forms.CharField(label=_("Regency/city"), required=False, widget=forms.Select)
    kecamatan = forms.CharField(
        label=_("District (kecamatan)"), required=False, widget=forms.Select
    )
    desa = forms.CharField(label=_("Village (desa/kelurahan)"), widget=forms.Select)

    def __init__(self, *args, access: Access, desa: Region | None = None, **kwargs):
        if desa is not None:
            kwargs["initial"] = {
                "kabupaten": desa.code.rsplit(".", 2)[0],
                "kecamatan": desa.code.rsplit(".", 1)[0],
                "desa": desa.code,
                **kwargs.get("initial", {}),
            }
        super().__init__(*args, **kwargs)
        self.setup_region_selects(access)

    def clean_desa(self) -> Region:
        code = self.cleaned_data["desa"].strip()
        region = Region.objects.filter(code=code, level=Level.VILLAGE).first()
        if region is None:
            raise ValidationError(_("Choose a village (desa/kelurahan)."))
        return region


def _identity_problems(check) -> str:
    if check.errors:
        raise ValidationError([str(p.message) for p in check.errors])
    return check.value


# --- households -------------------------------------------------------------------------------

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
NUMBER_TEXT = {"inputmode": "numeric", "autocomplete": "off"}


class HouseholdForm(ShapeOnlyModelForm):
    """The household's own data (its place is in LocationForm, its head in HeadForm)."""

    address_fields = ("rt", "rw", "address", "lat", "lng")
    groups = (
        (
            _("Housing and living conditions"),
            HOUSING_FIELDS,
        ),
        (_("Money"), ("monthly_expenditure", "monthly_income")),
        (
            _("Registers"),
            (
                "desil",
                "desil_source",
                "desil_as_of",
                "dtsen_id",
                "p3ke_id",
                "dtks_id",
                "registration_source",
                "status",
            ),
        ),
    )

    class Meta:
        model = Household
        fields = ("no_kk", *(f for f in HOUSEHOLD_FIELDS if f != "status"))
        widgets = {
            "no_kk": forms.TextInput(attrs={**NUMBER_TEXT, "maxlength": 16}),
            "rt": forms.TextInput(attrs=NUMBER_TEXT),
            "rw": forms.TextInput(attrs=NUMBER_TEXT),
            "desil_as_of": DATE,
            "lat": forms.NumberInput(attrs={"step": "any"}),
            "lng": forms.NumberInput(attrs={"step": "any"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("monthly_expenditure", "monthly_income"):
            self.fields[name].widget.attrs.update({"inputmode": "numeric", "step": 1000})
            self.fields[name].help_text = _("Rupiah per month, whole number.")

    def field_groups(self):
        return [
            (legend, [self[name] for name in names if name in self.fields])
            for legend, names in self.groups
        ]

    def clean_no_kk(self):
        """The number's own shape at once, beside any other error (the service checks it again)."""
        return _identity_problems(kk_check(self.cleaned_data["no_kk"]))

    def card_fields(self):
        return [self["no_kk"]]

    def address_group(self):
        return [self[name] for name in self.address_fields]

    def service_fields(self) -> dict:
        """The cleaned household fields as the services take them."""
        return {name: self.cleaned_data[name] for name in HOUSEHOLD_FIELDS if name in self.fields}


class HouseholdEditForm(HouseholdForm):
    """Editing adds the status, the reason for a new No. KK and the version the user saw."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    kk_change_reason = forms.ChoiceField(
        label=_("Reason for the No. KK change"),
        required=False,
        choices=[
            ("", EMPTY_LABELS["choose"]),
            *((value, label) for value, label in c.KkChangeReason.choices if value != "first"),
        ],
        help_text=_("Needed only when the No. KK changes."),
    )

    class Meta(HouseholdForm.Meta):
        fields = ("no_kk", *HOUSEHOLD_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].initial = self.instance.version
        url = reverse("households:kk_reason", args=[self.instance.pk])
        self.fields["no_kk"].widget.attrs.update(
            {
                "hx-get": url,
                "hx-trigger": "input changed delay:300ms",
                "hx-target": "#kk-reason",
                "hx-include": "this,#id_kk_change_reason",
            }
        )

    @property
    def kk_changed(self) -> bool:
        if not self.is_bound:
            return False
        return self.data.get(self.add_prefix("no_kk"), "").strip() != self.instance.no_kk


# --- members ----------------------------------------------------------------------------------


class MemberForm(ShapeOnlyModelForm):
    class Meta:
        model = Member
        fields = MEMBER_FIELDS
        widgets = {
            "nik": forms.TextInput(attrs={**NUMBER_TEXT, "maxlength": 16}),
            "birth_date": DATE,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.is_head and "relationship" in self.fields:
            field = self.fields["relationship"]
            field.disabled = True
            field.help_text = _("To change the head, use 'Make head' on another member.")

    def clean_nik(self):
        return _identity_problems(nik_check(self.cleaned_data["nik"]))

    def clean_birth_date(self):
        born = self.cleaned_data["birth_date"]
        if problem := birth_date_problem(born):
            raise ValidationError(problem)
        return born

    def clean(self):
        """The NIK against the birth date and sex, so every identity problem shows at once."""
        data = super().clean()
        nik, born, sex = (data.get(name) for name in ("nik", "birth_date", "sex"))
        if nik and (born or sex):
            for problem in nik_check(nik, birth_date=born, sex=sex).errors:
                self.add_error("nik", str(problem.message))
        return data

    def service_fields(self) -> dict:
        return {
            name: self.cleaned_data[name]
            for name in MEMBER_FIELDS
            if name in self.fields and not self.fields[name].disabled
        }


class MemberEditForm(MemberForm):
    """Editing a member carries the household version the user saw (a stale edit is refused)."""

    household_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["household_version"].initial = self.instance.household.version


class HeadForm(MemberForm):
    """The head of a household being registered (the relationship is implied)."""

    class Meta(MemberForm.Meta):
        fields = tuple(f for f in MEMBER_FIELDS if f != "relationship")

    def service_fields(self) -> dict:
        return {**super().service_fields(), "relationship": c.Relationship.HEAD}


class MakeHeadForm(BootstrapMixin, forms.Form):
    previous_head_relationship = forms.ChoiceField(
        label=_("New relationship of the current head"),
        choices=[
            ("", EMPTY_LABELS["choose"]),
            *((v, label) for v, label in c.Relationship.choices if v != c.Relationship.HEAD),
        ],
    )


class LeaveForm(BootstrapMixin, forms.Form):
    status = forms.ChoiceField(
        label=_("Reason"),
        choices=[
            ("", EMPTY_LABELS["choose"]),
            *((v, label) for v, label in c.MemberStatus.choices if v != c.MemberStatus.ACTIVE),
        ],
    )
    left_on = forms.DateField(label=_("Left on"), widget=DATE)
