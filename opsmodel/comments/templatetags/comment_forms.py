"""A thread's comment boxes, drawn in Python: `{% comment_form %}` (comments/_form.html)."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from opsmodel.addresses import address
from opsmodel.escaping import conditional_escape
from opsmodel.templatetags.opsmodel import csrf_field

register = template.Library()


@register.simple_tag(takes_context=True)
def comment_form(context) -> SafeString:
    """A comment box (comments/_form.html, which each thread includes with `action`,
    `field_id`, `label`, `button`, and when it was sent and refused `text` and `problem`;
    `secondary`, `cancel_url` and `rows` for the smaller ones), drawn in Python: a thread
    draws one for each comment's reply, and the template cost 500 Python calls each."""
    get = context.get
    action, anchor = conditional_escape(get("action", "")), conditional_escape(get("anchor", ""))
    field_id, label = conditional_escape(get("field_id", "")), conditional_escape(get("label", ""))
    problem, cancel_url = get("problem"), get("cancel_url")
    mentions = address("comments:people")
    drawn = [
        f'<form method="post" action="{action}" data-hx-post="{action}" '
        f'data-hx-target="#{anchor}" data-hx-swap="outerHTML" data-hx-push-url="false" '
        f'class="comment-form"{" data-escape-cancels" if cancel_url else ""} data-draft '
        f'data-draft-title="{label}" novalidate>\n  {csrf_field(context)}\n'
        f'  <div class="field{" field-invalid" if problem else ""}">\n'
        f'    <label for="{field_id}">{label}</label>\n    ',
    ]
    if problem:
        drawn.append(
            f'<p class="field-error" id="{field_id}-error" role="alert" tabindex="-1" '
            f"data-autofocus>{conditional_escape(problem)}</p>"
        )
    error = f" {field_id}-error" if problem else ""
    rows = conditional_escape(get("rows") or 3)
    drawn.append(
        '\n    <div class="mention-box">\n'
        f'      <textarea id="{field_id}" name="body" rows="{rows}" '
        f'data-mentions="{mentions}" aria-describedby="{field_id}-hint{error}"'
        f"{' aria-invalid="true"' if problem else ''}>{conditional_escape(get('text', ''))}"
        "</textarea>\n    </div>\n"
        f'    <p class="hint" id="{field_id}-hint">Markdown works. Type @ and a name to mention '
        "someone: they are told.</p>\n  </div>\n"
        '  <div class="comment-form-actions">\n'
        f'    <button type="submit" class="button{" button-secondary" if get("secondary") else ""}'
        f' button-small">{conditional_escape(get("button", ""))}</button>\n    '
    )
    if cancel_url:
        url = conditional_escape(cancel_url)
        drawn.append(
            f'<a class="link-small" href="{url}" data-cancel data-hx-get="{url}" '
            f'data-hx-target="#{anchor}" data-hx-select="#{anchor}" data-hx-swap="outerHTML" '
            'data-hx-push-url="false">Cancel</a>'
        )
    drawn.append("\n  </div>\n</form>")
    return mark_safe("".join(drawn))
