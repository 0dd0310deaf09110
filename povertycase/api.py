"""Shared API plumbing: pagination and the mapping of service errors to HTTP answers."""

import re

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import status
from rest_framework.exceptions import ParseError
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser as DRFJSONParser
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from .errors import DomainError, NotAllowed, OutOfScope
from .limits import ID_MAX


class JSONParser(DRFJSONParser):
    """DRF's JSON parser, with absurdly deep nesting answered as a 400, not a crash."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply") from exc


class PagePagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 200


def validation_detail(exc: DjangoValidationError) -> dict | list:
    if hasattr(exc, "error_dict"):
        return {
            field or "non_field_errors": [str(m) for m in messages]
            for field, messages in exc.message_dict.items()
        }
    return {"non_field_errors": [str(m) for m in exc.messages]}


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = DRFValidationError(detail=validation_detail(exc))
    elif isinstance(exc, OutOfScope):
        return Response({"detail": str(exc.message)}, status=status.HTTP_404_NOT_FOUND)
    elif isinstance(exc, NotAllowed):
        return Response({"detail": str(exc.message)}, status=status.HTTP_403_FORBIDDEN)
    elif isinstance(exc, DomainError):
        return Response({"detail": str(exc.message)}, status=status.HTTP_409_CONFLICT)
    elif isinstance(exc, PermissionDenied):
        return Response({"detail": str(exc) or "Forbidden"}, status=status.HTTP_403_FORBIDDEN)
    return drf_exception_handler(exc, context)


ID_TEXT = re.compile(r"[0-9]{1,19}")


def is_storable_id(text) -> bool:
    """A path's id is digits the database's bigint keys can hold (else the lookup would fail
    with an overflow, not a "not found")."""
    text = str(text)
    return bool(ID_TEXT.fullmatch(text)) and int(text) <= ID_MAX


class NumericIdMixin:
    """An id that is not a number the database can hold is simply not found (404, never 500);
    the schema keeps the integer type of the primary key."""

    def get_object(self):
        if not is_storable_id(self.kwargs.get(self.lookup_url_kwarg or self.lookup_field, "")):
            raise Http404
        return super().get_object()
