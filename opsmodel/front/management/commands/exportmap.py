from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from opsmodel.front.exchange import export_map


class Command(BaseCommand):
    help = "Write the whole map as one versioned JSON document (to standard output or a file)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--output", "-o", help="file to write (default: standard output)")

    def handle(self, *args, output: str | None = None, **options) -> None:
        text = json.dumps(export_map(), indent=2, ensure_ascii=False, sort_keys=True)
        if output:
            with open(output, "w", encoding="utf-8") as file:
                file.write(text + "\n")
            self.stderr.write(f"Exported the map to {output}.")
        else:
            self.stdout.write(text)
