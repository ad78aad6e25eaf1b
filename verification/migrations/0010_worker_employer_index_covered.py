# The worker's employer index is covered by worker_unique_per_employer (employer_id, ssn_bidx):
# one index less to write per new worker (a bulk import creates a million).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('verification', '0009_employer_webhook_events'),
    ]

    operations = [
        migrations.AlterField(
            model_name='worker',
            name='employer',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='workers', to='verification.employer'),
        ),
    ]
