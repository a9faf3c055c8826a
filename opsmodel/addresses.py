"""Addresses reversed once per view and filled in with each object's id.

Django's `reverse()` costs about 15 µs: it walks the URL patterns' possibilities and checks
each argument against its converter's pattern. A page drawn afresh links every row it lists
(My work some 330 times, the map 200), so that was 7–15% of drawing a page. Here each view
name is reversed once with stand-in ids, and its address kept as the pieces around them; an
object's address is then those pieces joined with its ids.

Only positive whole numbers (ids) and plain words (kinds such as "sop", usernames) take the
quick way, each where the view takes one (a word given for an id is reversed, and refused, as
before); anything else, and any view whose address does not show each stand-in exactly once,
goes through `reverse()` as before. The pieces are kept per script prefix (the app served
below a path) and per URLconf, and forgotten when the URLconf setting changes. While a view
answers a request, its prefix and URLconf are read once (AddressesMiddleware): each is the
request's own, read through a lock (some fourteen Python calls, for each of a page's hundreds
of links).
"""

from __future__ import annotations

from contextvars import ContextVar

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse

# Stand-ins for ids and for words: none is part of another, and no converter of ours writes
# them otherwise. A view that takes no word where a stand-in word is given does not reverse
# it: that view and shape of arguments then always goes through `reverse()`.
STAND_INS = (918273645, 918273646, 918273647)
WORD_STAND_INS = ("qzxwordina", "qzxwordinb", "qzxwordinc")

_pieces: dict[tuple, tuple[str, ...] | None] = {}

# The script prefix and URLconf of the request a view is answering (answering()), or None.
_answering: ContextVar[tuple[str, str | None] | None] = ContextVar("answering", default=None)


def answering() -> None:
    """Note the script prefix and URLconf of the request now answered, for its addresses, until
    `done()`."""
    _answering.set((get_script_prefix(), get_urlconf()))


def done() -> None:
    _answering.set(None)


def _pieces_of(view_name: str, words: tuple[bool, ...], current_app: str | None):
    """The address of `view_name` cut around its arguments (`words`: which are words, not
    ids), or None when it cannot be."""
    where = _answering.get() or (get_script_prefix(), get_urlconf())
    key = (view_name, words, current_app, *where)
    try:
        return _pieces[key]
    except KeyError:
        pass
    given = [
        WORD_STAND_INS[place] if word else STAND_INS[place] for place, word in enumerate(words)
    ]
    stand_ins = [str(stand_in) for stand_in in given]
    try:
        address = reverse(view_name, args=given, current_app=current_app)
    except NoReverseMatch:
        pieces = None
    else:
        pieces, rest = [], address
        for stand_in in stand_ins:
            if rest.count(stand_in) != 1:
                pieces = None
                break
            before, rest = rest.split(stand_in)
            pieces.append(before)
        if pieces is not None:
            pieces = (*pieces, rest)
    _pieces[key] = pieces
    return pieces


def _plain(arg) -> bool:
    """An id, or a plain word ("sop", "run-step", "person0017": letters, digits, - and _),
    written into an address as it is by `<str:…>` and `<slug:…>`, as the stand-ins are."""
    if type(arg) is int:
        return arg > 0
    if type(arg) is not str or not arg.isascii():
        return False
    return arg.replace("-", "").replace("_", "").isalnum()


def address(view_name: str, *args, current_app: str | None = None) -> str:
    """`reverse(view_name, args=args)`, quickly when every argument is an id."""
    if len(args) <= len(STAND_INS) and all(_plain(arg) for arg in args):
        pieces = _pieces_of(view_name, tuple(type(arg) is str for arg in args), current_app)
        if pieces is not None:
            joined = pieces[0]
            for arg, piece in zip(args, pieces[1:], strict=True):
                joined += f"{arg}{piece}"
            return joined
    return reverse(view_name, args=args, current_app=current_app)


@receiver(setting_changed)
def forget_on_urlconf_change(setting: str, **kwargs) -> None:
    if setting == "ROOT_URLCONF":
        _pieces.clear()
