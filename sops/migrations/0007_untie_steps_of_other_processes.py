"""Before a step's move to another process was refused (in the admin), an SOP could be left
pointing at a step of another process: its edit form refused to save and the map's export
could not be imported again. Such SOPs are untied from that step; the step stays as it is."""

from django.db import migrations
from django.db.models import F


def untie(apps, schema_editor):
    SOP = apps.get_model("sops", "SOP")
    SOP.objects.filter(step__isnull=False).exclude(step__process=F("process")).update(step=None)


class Migration(migrations.Migration):
    dependencies = [("sops", "0006_promotions"), ("processes", "0003_metrics")]

    operations = [migrations.RunPython(untie, migrations.RunPython.noop)]
