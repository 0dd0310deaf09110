"""``{{ value|rupiah }}``: whole rupiah as "Rp 1.200.000" (the same words as the services)."""

from django import template

from interventions.money import format_rupiah

register = template.Library()


@register.filter
def rupiah(value):
    if value is None or value == "":
        return "—"
    return format_rupiah(int(value))
