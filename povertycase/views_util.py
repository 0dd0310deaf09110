"""What every HTML view does with a service's answer."""

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, QueryDict

from .errors import DomainError, NotAllowed, OutOfScope


def page_query(params) -> QueryDict:
    """The filters of a list page for its pagination links: the non-empty values, without page.

    A QueryDict, as Django's ``{% querystring %}`` tag (``partials/_pagination.html``) needs one.
    """
    query = QueryDict(mutable=True)
    for key, values in params.lists():
        kept = [value for value in values if value]
        if key != "page" and kept:
            query.setlist(key, kept)
    return query


def run_service(
    call: Callable[[], Any], form, add_errors: Callable[[ValidationError], None]
) -> tuple[Any, int]:
    """Call a service; on refusal put its errors on the form. Returns (result, HTTP status).

    Field errors stay on the page (200); a role that may not act gets 403; outside the user's
    area the object does not exist (404); a state conflict is 409.
    """
    try:
        return call(), 200
    except ValidationError as exc:
        add_errors(exc)
        return None, 200
    except OutOfScope as exc:
        raise Http404 from exc
    except NotAllowed as exc:
        form.add_error(None, str(exc.message))
        return None, 403
    except DomainError as exc:
        form.add_error(None, str(exc.message))
        return None, 409
