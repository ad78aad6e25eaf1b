# Hand-written: a bulk insert audited by its own service event writes no row history per row.

from django.db import migrations

# The row history of an INSERT holds the new row: what the table itself holds until its first
# UPDATE, whose history keeps it as `old`. A service that inserts many rows at once and records
# one audit event naming every row in the same transaction (the bulk case import) sets
# crosscheck.bulk_insert for the duration of those inserts only (`audit.history.bulk_insert`).
# The check comes before any other work of the function: a bulk insert costs the trigger's call,
# not the row's JSON. UPDATE and DELETE write their history as before, flag or not.
SQL = r"""
CREATE OR REPLACE FUNCTION audit_row_history() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' AND current_setting('crosscheck.bulk_insert', true) = 'on' THEN
        RETURN NULL;  -- a bulk insert audited by its service's event, which names every row
    END IF;
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
    END;
END
$$;
"""

REVERSE = r"""
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


class Migration(migrations.Migration):
    dependencies = [("audit", "0004_chain_format_2")]

    operations = [migrations.RunSQL(SQL, REVERSE)]
