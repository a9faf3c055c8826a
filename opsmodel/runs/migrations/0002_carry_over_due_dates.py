"""The fixed due dates steps had, kept in one run per process that uses them.

Each process with dated steps gets one run in progress, started on the earliest of those dates,
whose steps fall due on exactly the dates the steps had (undated steps: no date), assigned to
their owners. Nothing is lost when `processes/0005` drops the fixed dates.
"""

from django.db import migrations


def carry_over(apps, schema_editor):
    Step = apps.get_model("processes", "Step")
    Run = apps.get_model("runs", "Run")
    RunStep = apps.get_model("runs", "RunStep")
    SOP = apps.get_model("sops", "SOP")
    processes = Step.objects.exclude(due_date=None).values_list("process_id", flat=True)
    for process_id in sorted(set(processes)):
        steps = list(Step.objects.filter(process_id=process_id).order_by("position"))
        process = steps[0].process
        run = Run.objects.create(
            process_id=process_id,
            number=1,
            name=f"{process.name} #1"[:200],
            starts_on=min(s.due_date for s in steps if s.due_date),
        )
        sops = dict(SOP.objects.filter(step__in=steps).values_list("step_id", "pk"))
        RunStep.objects.bulk_create(
            RunStep(
                run=run,
                step_id=step.pk,
                sop_id=sops.get(step.pk),
                position=position,
                name=step.name,
                assignee_id=step.owner_id,
                due_on=step.due_date,
            )
            for position, step in enumerate(steps, start=1)
        )


def dates_back(apps, schema_editor):
    """Backwards: each step's date again, from the run that kept it."""
    Step = apps.get_model("processes", "Step")
    RunStep = apps.get_model("runs", "RunStep")
    for run_step in RunStep.objects.filter(run__number=1).exclude(step=None):
        Step.objects.filter(pk=run_step.step_id).update(due_date=run_step.due_on)


class Migration(migrations.Migration):
    dependencies = [("runs", "0001_initial"), ("processes", "0004_relative_due_days")]

    operations = [migrations.RunPython(carry_over, dates_back)]
