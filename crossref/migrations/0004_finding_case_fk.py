"""Finding.case becomes a real foreign key to the verification case, on the same column.

The column `case_id` and its index stay as they are (no copy of the table). A finding citing a
case that no longer exists (none should: retention destroys findings before their cases) keeps
the id in its evidence and loses the link, so that the constraint can be validated.
"""

import django.db.models.deletion
from django.db import migrations, models

FK = "crossref_finding_case_id_fk_verification_case"


class Migration(migrations.Migration):
    dependencies = [
        ("crossref", "0003_run_staging"),
        ("verification", "0003_case_nmt_escalated_at"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="finding", name="case_id"),
                migrations.AddField(
                    model_name="finding",
                    name="case",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        help_text="The verification case concerned.",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="findings",
                        to="verification.verificationcase",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    sql=[
                        "UPDATE crossref_finding f SET case_id = NULL WHERE case_id IS NOT NULL "
                        "AND NOT EXISTS (SELECT 1 FROM verification_verificationcase v WHERE v.id = f.case_id)",
                        f"ALTER TABLE crossref_finding ADD CONSTRAINT {FK} FOREIGN KEY (case_id) "
                        "REFERENCES verification_verificationcase (id) DEFERRABLE INITIALLY DEFERRED NOT VALID",
                        f"ALTER TABLE crossref_finding VALIDATE CONSTRAINT {FK}",
                    ],
                    reverse_sql=[f"ALTER TABLE crossref_finding DROP CONSTRAINT {FK}"],
                ),
            ],
        ),
    ]
