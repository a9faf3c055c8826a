from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A person in the business. Owners of systems, processes, steps and SOPs are users."""

    job_title = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["first_name", "last_name", "username"]
        verbose_name = "person"
        verbose_name_plural = "people"

    def __str__(self) -> str:
        return self.get_full_name() or self.username


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
