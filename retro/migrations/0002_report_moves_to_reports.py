"""Report moves to the reports app: state only, the table (retro_report) stays where it is."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("retro", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Report")],
            database_operations=[],
        )
    ]
