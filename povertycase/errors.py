"""Project-wide error types raised by services.

Services raise django.core.exceptions.ValidationError for field errors and a DomainError subclass
for rule conflicts; the API exception handler and the HTML views map both.
"""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A business rule refused the action (HTTP 409)."""

    default_message = _("This action is not allowed in the current state.")

    def __init__(self, message=None):
        self.message = message or self.default_message
        super().__init__(str(self.message))


class OutOfScope(DomainError):
    """The actor may not act on this object or area."""

    default_message = _("You do not have access to this area or record.")


class NotAllowed(DomainError):
    """The actor's role does not permit this action (HTTP 403)."""

    default_message = _("Your role does not permit this action.")
