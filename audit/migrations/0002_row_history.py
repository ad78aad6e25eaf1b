# Hand-written: the row-history trigger function and the append-only guard of its table.

from django.db import migrations

SQL = r"""
-- TG_ARGV[0] is the primary key column, the other arguments the columns never to write.
CREATE FUNCTION audit_row_history() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    excluded text[] := TG_ARGV[1:TG_NARGS - 1];
    old_row jsonb;
    new_row jsonb;
    pk text;
BEGIN
    IF TG_OP <> 'INSERT' THEN old_row := to_jsonb(OLD) - excluded; END IF;
    IF TG_OP <> 'DELETE' THEN new_row := to_jsonb(NEW) - excluded; END IF;
    IF TG_OP = 'UPDATE' AND old_row = new_row THEN
        RETURN NULL;  -- only excluded columns changed
    END IF;
    pk := coalesce(new_row, old_row) ->> TG_ARGV[0];
    INSERT INTO audit_row_change (changed_at, table_name, row_pk, operation, old, new, db_user, app_user_id, request_id)
    VALUES (
        clock_timestamp(), TG_TABLE_NAME, coalesce(pk, ''), TG_OP, old_row, new_row, session_user,
        nullif(current_setting('crosscheck.actor_id', true), '')::bigint,
        coalesce(current_setting('crosscheck.request_id', true), '')
    );
    RETURN NULL;
END
$$;

CREATE TRIGGER audit_row_change_append_only BEFORE UPDATE OR DELETE ON audit_row_change
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_row_change_no_truncate BEFORE TRUNCATE ON audit_row_change
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE INDEX audit_row_change_time ON audit_row_change USING brin (changed_at);
"""

REVERSE = r"""
DROP INDEX IF EXISTS audit_row_change_time;
DROP TRIGGER IF EXISTS audit_row_change_no_truncate ON audit_row_change;
DROP TRIGGER IF EXISTS audit_row_change_append_only ON audit_row_change;
DROP FUNCTION IF EXISTS audit_row_history() CASCADE;
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
