"""What readers confirm is an SOP's edition: `revision` meant history too, `version` the lock."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("sops", "0007_untie_steps_of_other_processes")]

    operations = [
        migrations.RemoveConstraint(
            model_name="acknowledgement", name="acknowledgement_once_per_revision"
        ),
        migrations.RenameField(model_name="sop", old_name="revision", new_name="edition"),
        migrations.RenameField(
            model_name="acknowledgement", old_name="revision", new_name="edition"
        ),
        migrations.AddConstraint(
            model_name="acknowledgement",
            constraint=models.UniqueConstraint(
                fields=("sop", "person", "edition"), name="acknowledgement_once_per_edition"
            ),
        ),
    ]
