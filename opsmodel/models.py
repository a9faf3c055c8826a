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
