from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from systems.tree import repair_tree, tree_problems


class Command(BaseCommand):
    help = "Verify the systems tree (nested sets against parent links); --repair rebuilds it."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--repair", action="store_true", help="Rebuild the tree if it is not valid."
        )

    def handle(self, *args, repair: bool = False, **options) -> None:
        problems = tree_problems()
        if not problems:
            self.stdout.write(self.style.SUCCESS("The systems tree is valid."))
            return
        for problem in problems:
            self.stdout.write(f"  {problem}")
        if not repair:
            raise CommandError(
                f"The systems tree has {len(problems)} problem(s); run with --repair to rebuild it."
            )
        repair_tree()
        remaining = tree_problems()
        if remaining:
            raise CommandError(f"Repair left {len(remaining)} problem(s): {remaining[:5]}")
        self.stdout.write(self.style.SUCCESS("Repaired: the systems tree is valid again."))
