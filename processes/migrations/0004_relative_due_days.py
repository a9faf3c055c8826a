"""A step falls due relative to the start of each run, not on one fixed date.

Each step's fixed date becomes its days after the earliest date among its process's steps, so
the steps keep their spacing; `runs/0002` starts one run per such process that keeps today's
dates, and `0005` then drops the fixed dates.
"""

import django.core.validators
from django.db import migrations, models


def days_from_earliest(apps, schema_editor):
    Step = apps.get_model("processes", "Step")
    earliest: dict[int, object] = {}
    dated = Step.objects.exclude(due_date=None).order_by("process_id", "due_date")
    for step in dated.only("pk", "process_id", "due_date"):
        first = earliest.setdefault(step.process_id, step.due_date)
        # Capped as the field is: a step two years after the first is a typing slip.
        step.due_days, step.due_after = min((step.due_date - first).days, 730), "start"
        step.save(update_fields=["due_days", "due_after"])


class Migration(migrations.Migration):
    dependencies = [("processes", "0003_metrics")]

    operations = [
        migrations.AddField(
            model_name="step",
            name="due_after",
            field=models.CharField(
                choices=[("start", "after the run starts"), ("previous", "after the step before")],
                default="start",
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="step",
            name="due_days",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="Days after the run starts (0: its first day) or after the step before.",
                null=True,
                validators=[django.core.validators.MaxValueValidator(730)],
            ),
        ),
        migrations.RunPython(days_from_earliest, migrations.RunPython.noop),
    ]
