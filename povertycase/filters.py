"""Filters every app's lists share."""

import django_filters
from django.core.exceptions import ValidationError
from django.utils import formats
from django.utils.translation import gettext as _
from django_filters.fields import DateRangeField

from .limits import EARLIEST_DATE


class BoundedDateRangeField(DateRangeField):
    """A from-to date range that refuses dates before EARLIEST_DATE with a clear message (a
    date of year 1 at midnight in Jakarta falls before year 1 in UTC and cannot be queried)."""

    def compress(self, data_list):
        if any(day is not None and day < EARLIEST_DATE for day in data_list or ()):
            raise ValidationError(
                _("Give dates from %(day)s on.")
                % {"day": formats.date_format(EARLIEST_DATE, "j M Y")},
                code="min_value",
            )
        return super().compress(data_list)


class DateFromToRangeFilter(django_filters.DateFromToRangeFilter):
    field_class = BoundedDateRangeField
