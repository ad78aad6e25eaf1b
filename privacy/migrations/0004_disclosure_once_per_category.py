"""One accounting entry per request, person and record *and category*: a record that shows data of
two owners (a finding's SSA and DHS values) is accounted to each (privacy.reads.AlsoShown)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('privacy', '0003_disclosure_append_only'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='disclosure',
            name='disclosure_once_per_request',
        ),
        migrations.AddConstraint(
            model_name='disclosure',
            constraint=models.UniqueConstraint(condition=models.Q(('request_id', ''), _negated=True), fields=('request_id', 'person_ref', 'record_type', 'record_id', 'category', 'nature', 'recipient_user_id'), name='disclosure_once_per_request'),
        ),
    ]
