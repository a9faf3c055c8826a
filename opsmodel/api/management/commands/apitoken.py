"""`manage.py apitoken USERNAME [--scope read|write] [--name NAME]`: a new token, for scripts."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from opsmodel.api.models import Token


class Command(BaseCommand):
    help = "Make an API token for a person and print it (it is shown this once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--scope", choices=Token.Scope.values, default=Token.Scope.READ)
        parser.add_argument("--name", default="Made with manage.py apitoken")

    def handle(self, *args, username: str, scope: str, name: str, **options) -> None:
        person = get_user_model().objects.filter(username=username).first()
        if person is None:
            raise CommandError(f"Nobody has the username “{username}”.")
        try:
            _, secret = Token.make(person, name, scope)
        except ValidationError as refused:
            raise CommandError(" ".join(refused.messages)) from None
        self.stdout.write(secret)
