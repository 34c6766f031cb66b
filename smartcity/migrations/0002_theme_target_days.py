from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("smartcity", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="theme",
            name="target_days",
            field=models.PositiveSmallIntegerField(
                blank=True,
                help_text="Open reports older than this stand out as overdue in the triage queue.",
                null=True,
                verbose_name="target handling time (days)",
            ),
        ),
    ]
