# Hand-written: the log of transactions that changed cases (what the home's cached counts are
# checked against, cases/home_counts.py), and the indexes of the home's counts.

from django.db import migrations, models

SQL = r"""
-- One row per transaction that wrote cases_case, whatever wrote it (services, bulk updates,
-- ingest, the admin, a shell): a statement-level trigger, one small insert per statement.
-- Insert-only, one row per transaction: no row is shared between writers, so no lock is either.
CREATE TABLE cases_change_log (
    xid xid8 PRIMARY KEY,
    noted_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE FUNCTION cases_change_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO cases_change_log (xid) VALUES (pg_current_xact_id())
    ON CONFLICT (xid) DO UPDATE SET noted_at = clock_timestamp();
    RETURN NULL;
END
$$;

CREATE TRIGGER cases_case_change_note AFTER INSERT OR UPDATE OR DELETE ON cases_case
    FOR EACH STATEMENT EXECUTE FUNCTION cases_change_note();
CREATE TRIGGER cases_case_change_note_truncate AFTER TRUNCATE ON cases_case
    FOR EACH STATEMENT EXECUTE FUNCTION cases_change_note();
"""

REVERSE = r"""
DROP TRIGGER IF EXISTS cases_case_change_note_truncate ON cases_case;
DROP TRIGGER IF EXISTS cases_case_change_note ON cases_case;
DROP FUNCTION IF EXISTS cases_change_note();
DROP TABLE IF EXISTS cases_change_log;
"""


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]

    operations = [
        migrations.RunSQL(SQL, REVERSE),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(
                condition=models.Q(("proposed_closure", ""), _negated=True),
                fields=["id"],
                name="case_awaiting_signoff",
            ),
        ),
    ]
