"""`{% url %}` with ids filled into addresses reversed once (opsmodel.addresses), for every
template: a builtin library (settings.TEMPLATES), so it takes the place of Django's tag.

It is Django's tag, parsed by Django, drawing the same address; only the looking up is quicker
when every argument is an id. Keyword arguments and anything else go through Django's as before.
"""

from __future__ import annotations

from django import template
from django.template import defaulttags
from django.urls import NoReverseMatch

from opsmodel.addresses import STAND_INS, address
from opsmodel.escaping import conditional_escape

register = template.Library()


class URLNode(defaulttags.URLNode):
    def __init__(self, view_name, args, kwargs, asvar):
        super().__init__(view_name, args, kwargs, asvar)
        # A view named in quotes (nearly all): its name read once, not at every drawing.
        literal = not view_name.filters and isinstance(view_name.var, str)
        self.named = view_name.var if literal else None

    def render(self, context) -> str:
        if self.kwargs or len(self.args) > len(STAND_INS):
            return super().render(context)
        args = [arg.resolve(context) for arg in self.args]
        if not all(type(arg) is int and arg > 0 for arg in args):
            return super().render(context)
        request = getattr(context, "request", None)
        current_app = getattr(request, "current_app", None)
        if current_app is None:
            current_app = getattr(getattr(request, "resolver_match", None), "namespace", None)
        try:
            name = self.named or self.view_name.resolve(context)
            url = address(name, *args, current_app=current_app)
        except NoReverseMatch:
            if self.asvar is None:
                raise
            url = ""
        if self.asvar:
            context[self.asvar] = url
            return ""
        return conditional_escape(url) if context.autoescape else url


@register.tag
def url(parser, token) -> URLNode:
    parsed = defaulttags.url(parser, token)
    return URLNode(parsed.view_name, parsed.args, parsed.kwargs, parsed.asvar)
