import django.contrib.postgres.fields
from django.db import migrations, models

# Every employer's webhook_events from its live subscriptions (the union of their events).
FILL = """
UPDATE verification_employer e
SET webhook_events = s.events
FROM (
    SELECT employer_id, array_agg(DISTINCT ev ORDER BY ev)::varchar(48)[] AS events
    FROM verification_webhooksubscription, unnest(events) AS ev
    WHERE deleted_at IS NULL
    GROUP BY employer_id
) s
WHERE s.employer_id = e.id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("verification", "0008_portal_and_bulk_import"),
    ]

    operations = [
        migrations.AddField(
            model_name="employer",
            name="webhook_events",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(max_length=48),
                blank=True,
                db_default=[],
                default=list,
                editable=False,
                size=None,
            ),
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
    ]
