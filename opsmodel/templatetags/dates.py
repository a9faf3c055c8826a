"""`|date` writing days and moments quickly (opsmodel.dates), for every template: a builtin
library (settings.TEMPLATES), so it takes the place of Django's filter.

A format of the characters opsmodel.dates writes (the ones the templates use) takes the quick
way; any other value or format (a format's name, such as "DATE_FORMAT") is Django's business,
as before.
"""

from __future__ import annotations

import datetime

from django import template
from django.template import defaultfilters

from opsmodel.dates import english, format_date, pieces_of

register = template.Library()


@register.filter(expects_localtime=True, is_safe=False)
def date(value, arg=None):
    if arg and isinstance(value, datetime.date) and pieces_of(arg) is not None and english():
        return format_date(value, arg)
    return defaultfilters.date(value, arg)
