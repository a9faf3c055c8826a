"""`python manage.py importmarkdown PATH`: a folder or zip of Markdown into the map."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.text import Truncator

from opsmodel.front.exchange import BadDocument, import_map
from opsmodel.front.markdown_import import (
    SourceRefused,
    match_owner,
    plan,
    read_path,
    scope_checks,
    skipped,
    to_document,
    what_changes,
)
from systems.tree import system_paths

LABEL = {
    "system": "System",
    "process": "Process",
    "step": "Step",
    "sop": "SOP",
    "skip": "Skipped",
}


class Command(BaseCommand):
    help = (
        "Import a folder or zip of Markdown (Notion, Outline, BookStack, Obsidian, a handbook "
        "in Git): prints the plan and what is left behind, then imports all or nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", help="a folder, or a .zip file")
        parser.add_argument("--dry-run", action="store_true", help="print the plan; write nothing")
        parser.add_argument(
            "--into",
            default="",
            help='the existing system to import under, as its path: "Top/Sub"',
        )
        parser.add_argument(
            "--owner",
            default=None,
            help="the username who owns what the files do not give an owner",
        )

    def handle(self, *args, path: str, dry_run: bool, into: str, owner, **options) -> None:
        User = get_user_model()
        if owner and not User.objects.filter(username=owner, is_active=True).exists():
            raise CommandError(f"--owner: there is no active person with username “{owner}”.")
        into_path = tuple(part.strip() for part in into.split("/") if part.strip())
        if into_path and into_path not in set(system_paths().values()):
            raise CommandError(
                f"--into: there is no system “{' › '.join(into_path)}”; "
                "give the path of names from the top, as “Top/Sub”."
            )
        try:
            source = read_path(path)
        except SourceRefused as error:
            raise CommandError(f"Nothing was imported: {error}") from None
        found = plan(source)
        people = list(User.objects.filter(is_active=True))
        owners, unmatched = {}, []
        for item in found.items:
            if item.owner_hint:
                owners[item.key] = match_owner(item.owner_hint, people)
                if owners[item.key] is None:
                    unmatched.append(f"{item.key}: “{item.owner_hint}” is nobody here")
        doc, problems = to_document(
            found, owners=owners, into=into_path, default_owner=owner or None
        )
        self.print_plan(found, unmatched, problems + scope_checks(doc))
        changes = what_changes(doc)
        if dry_run:
            self.print_changes(changes, found)
            self.stdout.write(self.style.WARNING("Dry run: nothing was written."))
            return
        try:
            # Each thing made or changed says so in its history, as the upload's do.
            name = Path(path).name or str(path)
            counts = import_map(doc, action=f"Imported from “{Truncator(name).chars(150)}”")
        except BadDocument as error:
            raise CommandError(
                "Nothing was imported:\n" + "\n".join(f"  - {p}" for p in error.problems)
            ) from None
        self.print_changes(changes, found)
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {len(changes['created'])} new and {len(changes['updated'])} updated "
                f"({counts['systems']} systems, {counts['processes']} processes, "
                f"{counts['sops']} SOPs, {counts['files']} pictures)."
            )
        )

    def print_plan(self, found, unmatched: list[str], problems: list[str]) -> None:
        self.stdout.write(f"Plan for “{found.source_name}”:")
        depth: dict[str | None, int] = {None: 0}
        for item in found.items:
            depth[item.key] = depth.get(item.parent, 0) + 1
            indent = "  " * depth[item.key]
            extra = f" ({len(item.steps)} steps)" if item.level == "process" and item.steps else ""
            n = len(item.images)
            pictures = f", {n} picture{'s' if n != 1 else ''}" if n else ""
            self.stdout.write(
                f"{indent}{LABEL[item.level]:<8} {item.title}{extra}{pictures}  [{item.key}]"
            )
            for note in item.notes:
                self.stdout.write(f"{indent}         {note}")
            for missing in item.missing:
                self.stdout.write(f"{indent}         not in the source: {missing}")
        if found.left_behind:
            self.stdout.write("Left behind:")
            for where, why in found.left_behind:
                self.stdout.write(f"  - {where}: {why}")
        if unmatched:
            self.stdout.write("Owners not found (left without one):")
            for line in unmatched:
                self.stdout.write(f"  - {line}")
        if problems:
            self.stdout.write(self.style.WARNING("To look at:"))
            for problem in problems:
                self.stdout.write(f"  - {problem}")

    def print_changes(self, changes: dict, found) -> None:
        for heading, lines in (("Created", changes["created"]), ("Updated", changes["updated"])):
            if lines:
                self.stdout.write(f"{heading}:")
                for line in lines:
                    self.stdout.write(f"  - {line}")
        left = skipped(found)
        if left:
            self.stdout.write("Skipped:")
            for key, why in left:
                self.stdout.write(f"  - {key}: {why}")
