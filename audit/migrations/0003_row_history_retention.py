# Hand-written: retention may destroy the row history of purged records, and nothing else may.

from django.db import migrations

SQL = r"""
-- A purge sets crosscheck.retention_purge for its own transaction only (set_config(..., true)).
-- Then the row-history trigger writes nothing for the rows it deletes, and the history rows of
-- those records may be deleted. Every other UPDATE or DELETE of the history stays refused.
CREATE FUNCTION audit_row_change_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND coalesce(current_setting('crosscheck.retention_purge', true), '') = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'The audit trail is append-only: % on % is refused.', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
DROP TRIGGER audit_row_change_append_only ON audit_row_change;
CREATE TRIGGER audit_row_change_append_only BEFORE UPDATE OR DELETE ON audit_row_change
    FOR EACH ROW EXECUTE FUNCTION audit_row_change_guard();

CREATE OR REPLACE FUNCTION audit_row_history() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    excluded text[] := TG_ARGV[1:TG_NARGS - 1];
    old_row jsonb;
    new_row jsonb;
    pk text;
BEGIN
    IF TG_OP = 'DELETE' AND coalesce(current_setting('crosscheck.retention_purge', true), '') = 'on' THEN
        RETURN NULL;  -- a retention purge: the record and its history go together
    END IF;
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
"""

REVERSE = r"""
DROP TRIGGER audit_row_change_append_only ON audit_row_change;
CREATE TRIGGER audit_row_change_append_only BEFORE UPDATE OR DELETE ON audit_row_change
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
DROP FUNCTION audit_row_change_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_row_history")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
