from django.db import migrations


class Migration(migrations.Migration):
    # The dates live on in the run that runs/0002 started for each process that had them.
    dependencies = [("processes", "0004_relative_due_days"), ("runs", "0002_carry_over_due_dates")]

    operations = [migrations.RemoveField(model_name="step", name="due_date")]
