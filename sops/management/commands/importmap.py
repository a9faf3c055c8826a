from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from sops.exchange import BadDocument, import_map


class Command(BaseCommand):
    help = "Import a map document, into an empty instance or merging by name. All or nothing."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", help="the JSON file written by exportmap")

    def handle(self, *args, path: str, **options) -> None:
        try:
            with open(path, encoding="utf-8") as file:
                doc = json.load(file)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CommandError(f"{path} is not a readable JSON file: {error}") from None
        try:
            counts = import_map(doc)
        except BadDocument as error:
            raise CommandError(
                "Nothing was imported:\n" + "\n".join(f"  - {p}" for p in error.problems)
            ) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {counts['systems']} systems, {counts['processes']} processes and "
                f"{counts['sops']} SOPs."
            )
        )
