"""The accounting of disclosures is append-only: no UPDATE, and DELETE only inside a retention purge.

The purge service runs `SET LOCAL crosscheck.retention_purge = 'on'` in its own transaction;
nothing else can delete an entry (552a(c)(2): kept 5 years or the life of the record).
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION privacy_disclosure_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'the accounting of disclosures is append-only (UPDATE refused)';
    END IF;
    IF coalesce(current_setting('crosscheck.retention_purge', true), '') <> 'on' THEN
        RAISE EXCEPTION 'the accounting of disclosures is append-only (DELETE outside a retention purge refused)';
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER privacy_disclosure_append_only
BEFORE UPDATE OR DELETE ON privacy_disclosure
FOR EACH ROW EXECUTE FUNCTION privacy_disclosure_guard();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS privacy_disclosure_append_only ON privacy_disclosure;
DROP FUNCTION IF EXISTS privacy_disclosure_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("privacy", "0002_agreements_grants_disclosures_requests_retention")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
