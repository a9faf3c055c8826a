"""Rows turned into objects quickly: a model's `from_db` without the general constructor.

Django makes an object of each row read through `Model.__init__`, a constructor for every way
of making one (positional values, keywords, defaults, related objects), which sends the
`pre_init` and `post_init` signals and sets each field through its attribute. A page drawn
afresh makes a hundred objects and more (a process's steps with their owners and SOPs, its
runs, their steps), and that constructor was a sixth of drawing it.

A row read from the database has a value for each field it read, in order, and nothing else:
here the object is made empty and given those values as they are, as the constructor would
have stored them; the fields not read stay deferred (loaded when first asked for), as before.
It takes this way only while it is the same: for a model with a constructor of its own, any
receiver of `pre_init` or `post_init`, or a field whose attribute does more than store its
value, Django's own `from_db` runs as before. A model whose constructor is Django's and then
one step more names that constructor (`CONSTRUCTOR`) and does the step in `loaded()`: the
systems' tree (django-mptt's notes where each node stood, which a save compares with).
"""

from __future__ import annotations

import functools
import inspect

from django.db import models
from django.db.models.base import ModelState
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init

# The attributes through which the constructor sets a field's value, each of which only
# stores it (a foreign key's also forgets the related object, which a new object has not).
STORING = (DeferredAttribute, models.fields.related_descriptors.ForeignKeyDeferredAttribute)


@functools.cache
def stores_as_given(model: type[models.Model]) -> bool:
    """Whether making `model`'s objects with its constructor only stores each field's value."""
    if model.__init__ not in (models.Model.__init__, getattr(model, "CONSTRUCTOR", None)):
        return False
    return all(
        type(inspect.getattr_static(model, field.attname, None)) in STORING
        for field in model._meta.concrete_fields
    )


class QuickLoaded(models.Model):
    """A model whose rows become objects without the general constructor (see above)."""

    # A constructor that is Django's, then `loaded()` (None: Django's alone).
    CONSTRUCTOR = None

    class Meta:
        abstract = True

    def loaded(self) -> None:
        """What the model's CONSTRUCTOR does after Django's, for an object made from a row."""

    @classmethod
    def from_db(cls, db, field_names, values, *, fetch_mode=None):
        if pre_init.receivers or post_init.receivers or not stores_as_given(cls):
            return super().from_db(db, field_names, values, fetch_mode=fetch_mode)
        new = cls.__new__(cls)
        state = new._state = ModelState()
        state.adding = False
        state.db = db
        if fetch_mode is not None:
            state.fetch_mode = fetch_mode
        # Each value read, under its field's attribute name, in the order the row holds them.
        new.__dict__.update(zip(field_names, values, strict=True))
        new.loaded()
        return new
