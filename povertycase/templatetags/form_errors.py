"""``{% error_summary form other ... %}``: every error of a page's forms at the top of the page,
each linked to its field, so a long form on a phone shows at once what is wrong and where."""

from django import template

register = template.Library()


@register.inclusion_tag("partials/_error_summary.html")
def error_summary(*forms):
    # A form the page does not have (e.g. no head form when editing) comes in as "".
    return {"forms": [form for form in forms if getattr(form, "errors", None)]}
