"""Each run step's done_on: the local calendar day (settings.TIME_ZONE) of its done_at, stored so
that the late filter compares two columns instead of working out a date row by row.

Rows written before it get theirs from done_at, in batches; the database then refuses a step
with one and not the other. Backwards, the column goes and nothing else needs undoing.
"""

from django.db import migrations, models
from django.utils import timezone

BATCH = 2000


def fill_done_on(RunStep, batch_size: int) -> int:
    """Set done_on from done_at on every step done or skipped (to do: stays None); how many.
    Read a batch at a time by primary key, each written before the next is read (SQLite keeps
    no isolation between a cursor still open and writes to its table)."""
    steps = RunStep.objects.exclude(done_at=None).only("pk", "done_at").order_by("pk")
    filled, last = 0, 0
    while batch := list(steps.filter(pk__gt=last)[:batch_size]):
        for step in batch:
            step.done_on = timezone.localdate(step.done_at)
        RunStep.objects.bulk_update(batch, ["done_on"], batch_size=batch_size)
        filled, last = filled + len(batch), batch[-1].pk
    return filled


def fill(apps, schema_editor):
    fill_done_on(apps.get_model("runs", "RunStep"), BATCH)


class Migration(migrations.Migration):
    dependencies = [("runs", "0005_updated_at")]

    operations = [
        migrations.AddField(
            model_name="runstep",
            name="done_on",
            field=models.DateField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="runstep",
            constraint=models.CheckConstraint(
                condition=models.Q(done_at__isnull=True, done_on__isnull=True)
                | models.Q(done_at__isnull=False, done_on__isnull=False),
                name="run_step_done_on_with_done_at",
            ),
        ),
    ]
