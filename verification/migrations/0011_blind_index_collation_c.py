# The blind-index columns (`*_bidx`) under collation "C": hex digests compared only for equality
# (and against the hex bounds of a run's partitions, where every collation agrees), so nothing a
# user sees changes order. Comparisons become memcmp, and the B-tree builds after a bulk load
# about twice as fast. PostgreSQL rebuilds each index on these columns; the table is not rewritten.

import django.contrib.postgres.fields
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('verification', '0010_worker_employer_index_covered'),
    ]

    operations = [
        migrations.AlterField(
            model_name='enforcementsubject',
            name='documents_bidx',
            field=django.contrib.postgres.fields.ArrayField(base_field=models.CharField(db_collation='C', max_length=64), blank=True, default=list, size=None),
        ),
        migrations.AlterField(
            model_name='immigrationrecord',
            name='a_number_bidx',
            field=models.CharField(blank=True, db_collation='C', max_length=64),
        ),
        migrations.AlterField(
            model_name='immigrationrecord',
            name='i94_bidx',
            field=models.CharField(blank=True, db_collation='C', max_length=64),
        ),
        migrations.AlterField(
            model_name='immigrationrecord',
            name='passport_bidx',
            field=models.CharField(blank=True, db_collation='C', max_length=64),
        ),
        migrations.AlterField(
            model_name='numident',
            name='ssn_bidx',
            field=models.CharField(db_collation='C', max_length=64),
        ),
        migrations.AlterField(
            model_name='verificationcase',
            name='a_number_bidx',
            field=models.CharField(blank=True, db_collation='C', max_length=64),
        ),
        migrations.AlterField(
            model_name='verificationcase',
            name='document_number_bidx',
            field=models.CharField(blank=True, db_collation='C', max_length=64),
        ),
        migrations.AlterField(
            model_name='verificationcase',
            name='i94_bidx',
            field=models.CharField(blank=True, db_collation='C', max_length=64),
        ),
        migrations.AlterField(
            model_name='verificationcase',
            name='passport_bidx',
            field=models.CharField(blank=True, db_collation='C', max_length=64),
        ),
        migrations.AlterField(
            model_name='verificationcase',
            name='ssn_bidx',
            field=models.CharField(db_collation='C', max_length=64),
        ),
        migrations.AlterField(
            model_name='worker',
            name='ssn_bidx',
            field=models.CharField(db_collation='C', max_length=64),
        ),
    ]
