from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models, transaction
from django.urls import reverse


class User(AbstractUser):
    """A person in the business. Owners of systems, processes, steps and SOPs are users."""

    job_title = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["first_name", "last_name", "username"]
        verbose_name = "person"
        verbose_name_plural = "people"

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    def get_absolute_url(self) -> str:
        return reverse("people:person", args=[self.username])

    def owned_relations(self) -> list:
        """Every relation through which this person owns something (systems, SOPs, software…)."""
        return [
            rel
            for rel in self._meta.related_objects
            if rel.one_to_many and rel.field.name == "owner"
        ]

    def reassign_everything_to(self, other: User) -> int:
        """Hand everything this person owns to `other`; returns how many items moved."""
        moved = 0
        with transaction.atomic():
            for rel in self.owned_relations():
                model = rel.related_model
                changes = {"owner": other}
                if any(f.name == "version" for f in model._meta.concrete_fields):
                    # An open edit form of a reassigned item must see that it changed.
                    changes["version"] = models.F("version") + 1
                moved += model._default_manager.filter(owner=self).update(**changes)
        return moved


class Versioned(models.Model):
    """A map object that two people may edit at once without one silently undoing the other.

    Every save bumps `version`. An edit form carries the version it was opened at, and
    `save_if_unchanged()` writes only if the row still has that version: one conditional UPDATE,
    so the check and the write cannot be separated by another save.
    """

    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            self.version += 1
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "version"}
        super().save(*args, **kwargs)

    def save_if_unchanged(self, expected_version: int, fields: list[str]) -> bool:
        """Write `fields` if nobody has saved this object since `expected_version`."""
        values = {name: getattr(self, name) for name in fields}
        updated = (
            type(self)
            ._default_manager.filter(pk=self.pk, version=expected_version)
            .update(version=models.F("version") + 1, **values)
        )
        if updated:
            self.version = expected_version + 1
        return bool(updated)
