"""What the pages of referrals, pledges and business groups share.

The forms behind a record's action buttons, a service's errors put next to their fields, and the
POST of one action button: run the service, say what happened and go back to the record, or show
the record's page again with the refusal on the button's form (nothing written).
"""

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy

from households.forms import name_the_blank
from povertycase.views_util import run_service

from .forms import FormMixin

RUPIAH_INVALID = gettext_lazy(
    "Enter whole rupiah as digits only, without decimals, dots or spaces."
)


class ReasonForm(FormMixin, forms.Form):
    # Required-ness is the service's rule, so its message appears next to the field.
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ActionForm(FormMixin, forms.Form):
    """An action without fields (accept, complete, activate, close): only the service's errors."""


def field_errors(form: forms.Form) -> Callable[[ValidationError], None]:
    """Put a service's ValidationError on `form`: "deliveries[0].quantity" next to deliveries,
    a key that is no field of the form on top of it."""

    def add(exc: ValidationError) -> None:
        if not hasattr(exc, "error_dict"):
            form.add_error(None, exc.messages)
            return
        for key, messages_ in exc.message_dict.items():
            field = key.split("[", 1)[0].split(".", 1)[0]
            form.add_error(field if field in form.fields else None, messages_)

    return add


def run_on_form(call: Callable[[], Any], form: forms.Form) -> tuple[Any, int]:
    """`run_service` with the service's errors on `form` (`field_errors`)."""
    return run_service(call, form, field_errors(form))


def post_action(
    request,
    load: Callable[[], Any],
    page: Callable[..., HttpResponse],
    *,
    name: str,
    form: forms.Form,
    call: Callable[[Any, dict], Any],
    message: str,
    done: str,
) -> HttpResponse:
    """POST the action `name` of the page of the record `load()` gives (in the user's scope).

    `call(record, cleaned_data)` runs the service. Done: `message` and a redirect to `done`.
    Refused: `page(request, record, forms_={name: form}, status=...)` with the record read again
    (the service may have locked and re-read it) and the errors on the action's form: 200 for
    field errors, 403 or 409 as `run_service` says.
    """
    record = load()
    status = 200
    if form.is_valid():
        result, status = run_on_form(lambda: call(record, form.cleaned_data), form)
        if result is not None:
            messages.success(request, message)
            return redirect(done)
    return page(request, load(), forms_={name: form}, status=status)


def is_partial(request) -> bool:
    """An htmx request for part of a page (not a history restore, which wants the whole page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def style_filter_form(form: forms.Form) -> forms.Form:
    """The small Bootstrap controls of a list page's filter bar."""
    for field in form.fields.values():
        name_the_blank(field, gettext_lazy("All"))
        if isinstance(field.widget, forms.Select):
            field.widget.attrs["class"] = "form-select form-select-sm"
        else:
            field.widget.attrs["class"] = "form-control form-control-sm"
    return form
