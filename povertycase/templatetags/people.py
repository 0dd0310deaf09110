"""``{{ user|person }}``: a user's full name, else their username, else a dash.

Users on records may be gone (``SET_NULL``), and a filter argument that looks up an attribute of
None raises in a template, so every page names people through this one filter.
"""

from django import template

register = template.Library()


@register.filter
def person(user):
    if user is None:
        return "—"
    return user.get_full_name() or user.get_username()
