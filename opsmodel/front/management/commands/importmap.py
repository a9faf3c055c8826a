from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from opsmodel.front.exchange import BadDocument, import_map, read_document


class Command(BaseCommand):
    help = "Import a map document, into an empty instance or merging by name. All or nothing."

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", help="the JSON file written by exportmap")

    def handle(self, *args, path: str, **options) -> None:
        try:
            with open(path, "rb") as file:
                data = file.read()
        except OSError as error:
            raise CommandError(f"{path} is not a readable file: {error}") from None
        try:
            counts = import_map(read_document(data))
        except BadDocument as error:
            raise CommandError(
                "Nothing was imported:\n" + "\n".join(f"  - {p}" for p in error.problems)
            ) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {counts['systems']} systems, {counts['processes']} processes and "
                f"{counts['sops']} SOPs, and attached {counts['files']} files."
            )
        )
        for left_out in counts["left_out"]:
            self.stdout.write(self.style.WARNING(f"  Not in the document: {left_out}"))
