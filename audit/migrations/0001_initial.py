# Hand-written: the audit trail is partitioned by month, guarded by triggers and sealed by a SQL
# function, none of which Django can declare. The model state matches audit/models.py.

import django.contrib.postgres.fields
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# --- Tables ---------------------------------------------------------------------------------
TABLES = r"""
CREATE SEQUENCE audit_event_id_seq AS bigint;

CREATE TABLE audit_event (
    id bigint NOT NULL DEFAULT nextval('audit_event_id_seq'),
    occurred_at timestamptz NOT NULL,
    txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    catalogue_version smallint NOT NULL DEFAULT 1 CHECK (catalogue_version >= 0),
    actor_id bigint NULL,
    actor_username varchar(150) NOT NULL DEFAULT '',
    actor_agency varchar(32) NOT NULL DEFAULT '',
    actor_role varchar(128) NOT NULL DEFAULT '',
    api_key_id bigint NULL,
    employer_id bigint NULL,
    action varchar(64) NOT NULL,
    object_type varchar(64) NOT NULL DEFAULT '',
    object_id varchar(64) NOT NULL DEFAULT '',
    subjects varchar(80)[] NOT NULL DEFAULT '{}',
    search_kind varchar(32) NOT NULL DEFAULT '',
    search_hmac varchar(64) NOT NULL DEFAULT '',
    ip inet NULL,
    user_agent varchar(400) NOT NULL DEFAULT '',
    request_id varchar(64) NOT NULL DEFAULT '',
    task_name varchar(128) NOT NULL DEFAULT '',
    run_id varchar(64) NOT NULL DEFAULT '',
    case_id bigint NULL,
    agreement_id bigint NULL,
    justification text NOT NULL DEFAULT '',
    break_glass boolean NOT NULL DEFAULT false,
    outcome varchar(8) NOT NULL CHECK (outcome IN ('allowed', 'denied')),
    changes jsonb NOT NULL DEFAULT '{}',
    detail jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at);
ALTER SEQUENCE audit_event_id_seq OWNED BY audit_event.id;

-- Browser and review: every filter is an equality plus keyset order on id (newest first).
CREATE INDEX audit_event_time ON audit_event USING brin (occurred_at);
CREATE INDEX audit_event_actor ON audit_event (actor_id, id);
CREATE INDEX audit_event_agency ON audit_event (actor_agency, id);
CREATE INDEX audit_event_action ON audit_event (action, id);
CREATE INDEX audit_event_denied ON audit_event (id) WHERE outcome = 'denied';
CREATE INDEX audit_event_case ON audit_event (case_id, id) WHERE case_id IS NOT NULL;
CREATE INDEX audit_event_agreement ON audit_event (agreement_id, id) WHERE agreement_id IS NOT NULL;
CREATE INDEX audit_event_subjects ON audit_event USING gin (subjects);
CREATE INDEX audit_event_search ON audit_event (search_hmac) WHERE search_hmac <> '';
CREATE INDEX audit_event_break_glass ON audit_event (id) WHERE break_glass;
-- The sealer walks unsealed events in (txid, id) order.
CREATE INDEX audit_event_txid ON audit_event (txid, id);

CREATE TABLE audit_seal (
    seq bigint NOT NULL,
    event_id bigint NOT NULL,
    occurred_at timestamptz NOT NULL,
    txid xid8 NOT NULL,
    prev_hash bytea NOT NULL CHECK (length(prev_hash) = 32),
    hash bytea NOT NULL CHECK (length(hash) = 32),
    sealed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (seq, occurred_at),
    UNIQUE (event_id, occurred_at)
) PARTITION BY RANGE (occurred_at);

CREATE TABLE audit_event_pdefault PARTITION OF audit_event DEFAULT;
CREATE TABLE audit_seal_pdefault PARTITION OF audit_seal DEFAULT;
"""

# --- Append-only guard ------------------------------------------------------------------------
# UPDATE and DELETE are refused by row triggers (cloned onto every partition by PostgreSQL);
# TRUNCATE by statement triggers, which PostgreSQL does not clone, so audit_partition_create puts
# one on each partition as well.
#
# The narrow way through (test runner only): Django's test flush TRUNCATEs every table. The
# guard lets a TRUNCATE through only when BOTH hold:
#   * the database's name starts with "test_" (Django's test databases; never production's), and
#   * the session set crosscheck.audit_test_flush = 'on', which audit/db.py does only when
#     settings.AUDIT_TEST_FLUSH_ALLOWED is true (config/settings/test.py alone sets it).
# UPDATE and DELETE have no way through at all.
GUARD = r"""
CREATE FUNCTION audit_test_flush_permitted(dbname text, flag text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT dbname LIKE 'test\_%' AND coalesce(flag, '') = 'on'
$$;

CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND audit_test_flush_permitted(
        current_database(), current_setting('crosscheck.audit_test_flush', true)
    ) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'The audit trail is append-only: % on % is refused.', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_seal_append_only BEFORE UPDATE OR DELETE ON audit_seal
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_seal_no_truncate BEFORE TRUNCATE ON audit_seal
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_event_pdefault_no_truncate BEFORE TRUNCATE ON audit_event_pdefault
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_seal_pdefault_no_truncate BEFORE TRUNCATE ON audit_seal_pdefault
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
"""

# --- Monthly partitions -------------------------------------------------------------------------
PARTITIONS = r"""
-- Create the partitions of the month holding `day` (events and seals); idempotent.
CREATE FUNCTION audit_partition_create(day date) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    lo date := date_trunc('month', day)::date;
    hi date := (date_trunc('month', day) + interval '1 month')::date;
    suffix text := to_char(lo, 'YYYYMM');
    tbl text;
BEGIN
    FOREACH tbl IN ARRAY ARRAY['audit_event', 'audit_seal'] LOOP
        IF to_regclass(tbl || '_p' || suffix) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                tbl || '_p' || suffix, tbl, lo::timestamp AT TIME ZONE 'UTC', hi::timestamp AT TIME ZONE 'UTC'
            );
            EXECUTE format(
                'CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()',
                tbl || '_p' || suffix || '_no_truncate', tbl || '_p' || suffix
            );
        END IF;
    END LOOP;
    RETURN 'audit_event_p' || suffix;
END
$$;

-- Partitions from this month to `months_ahead` months ahead (the beat task and migration call it).
CREATE FUNCTION audit_partitions_ensure(months_ahead integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    i integer;
BEGIN
    FOR i IN 0..months_ahead LOOP
        PERFORM audit_partition_create((date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => i))::date);
    END LOOP;
    RETURN months_ahead + 1;
END
$$;

SELECT audit_partitions_ensure(3);
"""

# --- Canonical serialization and the sealer -------------------------------------------------------
# Format 1: a row of every column in a fixed order, printed as PostgreSQL prints a row value
# (record_out: quoted where needed, NULL as nothing), led by the format number; the time in UTC
# without zone, so the session's TimeZone cannot change it (DateStyle must be ISO: the sealer and
# the verifier set it). Cheap on purpose: record_out costs a fraction of jsonb_build_array, and
# verification speed is a goal (200k events/s). audit/chain.py holds the same serialization in
# Python and the tests hold the two to each other.
CHAIN = r"""
CREATE FUNCTION audit_canonical(e audit_event) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT ROW(
        1, e.id, e.occurred_at AT TIME ZONE 'UTC', e.txid, e.catalogue_version,
        e.actor_id, e.actor_username, e.actor_agency, e.actor_role, e.api_key_id, e.employer_id,
        e.action, e.object_type, e.object_id, e.subjects, e.search_kind, e.search_hmac,
        e.ip, e.user_agent, e.request_id, e.task_name, e.run_id,
        e.case_id, e.agreement_id, e.justification, e.break_glass,
        e.outcome, e.changes, e.detail
    )::text
$$;

-- The sealer: chains every event whose transaction has ended, in (txid, id) order.
--
-- An event is inserted unchained inside its writer's transaction. The sealer only takes events
-- whose txid is below the horizon of a fresh snapshot (its xmin, less the running transactions of
-- other databases): every transaction of this database below it has committed or aborted, so no
-- event can still appear there later. A transaction that allocated its id early
-- and commits late holds xmin back until it ends, and is sealed then, so nothing is skipped.
-- Everything with a txid below the previous run's horizon was visible to that run and sealed by
-- it (we seal in (txid, id) order), so each run resumes after the last sealed (txid, id).
CREATE FUNCTION audit_seal_pending(batch integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    snap pg_snapshot;
    horizon xid8;
    head record;
    prev bytea;
    h bytea;
    body bytea;
    next_seq bigint := 1;
    last_txid xid8 := '0'::xid8;
    last_id bigint := 0;
    ids bigint[];
    times timestamptz[];
    txids xid8[];
    bodies bytea[];
    prevs bytea[] := '{}';
    hashes bytea[] := '{}';
BEGIN
    PERFORM pg_advisory_xact_lock(7715501);  -- one sealer at a time
    PERFORM set_config('DateStyle', 'ISO, YMD', true);  -- the canonical text's time format
    PERFORM set_config('work_mem', '256MB', true);  -- a batch's canonical texts sort in memory
    -- The horizon: the oldest transaction still running that could write to this database.
    -- One that has ended since the snapshot no longer counts (the SELECT below takes a newer
    -- snapshot, which sees its rows); one of another database (xids are cluster-wide) can never
    -- insert here; one we cannot attribute (hidden from us) is assumed ours.
    snap := pg_current_snapshot();
    SELECT coalesce(min(x), pg_snapshot_xmax(snap)) INTO horizon
    FROM pg_snapshot_xip(snap) AS x
    WHERE pg_xact_status(x) = 'in progress' AND NOT EXISTS (
        SELECT 1 FROM pg_stat_activity a
        WHERE a.backend_xid IS NOT NULL AND a.datname IS DISTINCT FROM current_database()
          AND a.backend_xid::text = (x::text::numeric % 4294967296)::text
    );
    SELECT s.seq, s.hash, s.txid, s.event_id INTO head FROM audit_seal s ORDER BY s.seq DESC LIMIT 1;
    IF FOUND THEN
        prev := head.hash; next_seq := head.seq + 1; last_txid := head.txid; last_id := head.event_id;
    ELSE
        SELECT a.max_seq + 1, a.max_seq_hash INTO next_seq, prev
            FROM audit_retention_anchor a WHERE a.max_seq IS NOT NULL ORDER BY a.max_seq DESC LIMIT 1;
        IF NOT FOUND THEN
            next_seq := 1; prev := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
        END IF;
    END IF;
    -- The canonical texts are computed set-based; only the chaining itself is sequential. They
    -- are computed outside the LIMITed subquery, so that only the batch's rows are serialized.
    SELECT array_agg(q.id ORDER BY q.txid, q.id), array_agg(q.occurred_at ORDER BY q.txid, q.id),
           array_agg(q.txid ORDER BY q.txid, q.id),
           array_agg(convert_to(audit_canonical(q.ev), 'UTF8') ORDER BY q.txid, q.id)
      INTO ids, times, txids, bodies
      FROM (
        SELECT e AS ev, e.id, e.occurred_at, e.txid
        FROM audit_event e
        WHERE (e.txid, e.id) > (last_txid, last_id) AND e.txid < horizon
        ORDER BY e.txid, e.id LIMIT batch
      ) q;
    IF ids IS NULL THEN
        RETURN 0;
    END IF;
    FOREACH body IN ARRAY bodies LOOP
        h := sha256(prev || body);
        prevs := prevs || prev;
        hashes := hashes || h;
        prev := h;
    END LOOP;
    INSERT INTO audit_seal (seq, event_id, occurred_at, txid, prev_hash, hash)
        SELECT next_seq + u.n - 1, u.id, u.t, u.x, u.p, u.h
        FROM unnest(ids, times, txids, prevs, hashes) WITH ORDINALITY AS u(id, t, x, p, h, n);
    RETURN array_length(ids, 1);
END
$$;

-- Retention: drop the month holding `day`, events and seals together, after noting what went.
CREATE FUNCTION audit_partition_drop(day date) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    lo date := date_trunc('month', day)::date;
    suffix text := to_char(lo, 'YYYYMM');
    n bigint;
    last record;
BEGIN
    IF to_regclass('audit_event_p' || suffix) IS NULL THEN
        RETURN 0;
    END IF;
    EXECUTE format('SELECT count(*) FROM %I', 'audit_event_p' || suffix) INTO n;
    EXECUTE format('SELECT seq, hash FROM %I ORDER BY seq DESC LIMIT 1', 'audit_seal_p' || suffix) INTO last;
    INSERT INTO audit_retention_anchor (month, dropped_at, events, max_seq, max_seq_hash)
        VALUES (lo, now(), n, last.seq, last.hash);
    EXECUTE format('DROP TABLE %I', 'audit_seal_p' || suffix);
    EXECUTE format('DROP TABLE %I', 'audit_event_p' || suffix);
    RETURN n;
END
$$;
"""

DROP_ALL = r"""
DROP FUNCTION IF EXISTS audit_partition_drop(date);
DROP FUNCTION IF EXISTS audit_seal_pending(integer);
DROP FUNCTION IF EXISTS audit_canonical(audit_event);
DROP TABLE IF EXISTS audit_seal CASCADE;
DROP TABLE IF EXISTS audit_event CASCADE;
DROP FUNCTION IF EXISTS audit_partitions_ensure(integer);
DROP FUNCTION IF EXISTS audit_partition_create(date);
DROP FUNCTION IF EXISTS audit_refuse_change();
DROP FUNCTION IF EXISTS audit_test_flush_permitted(text, text);
"""


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="RetentionAnchor",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField(unique=True)),
                ("dropped_at", models.DateTimeField(auto_now_add=True)),
                ("events", models.BigIntegerField()),
                ("max_seq", models.BigIntegerField(null=True)),
                ("max_seq_hash", models.BinaryField(null=True)),
            ],
            options={"db_table": "audit_retention_anchor", "ordering": ["month"]},
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(TABLES + GUARD + PARTITIONS + CHAIN, DROP_ALL),
            ],
            state_operations=[
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        ("occurred_at", models.DateTimeField()),
                        ("catalogue_version", models.PositiveSmallIntegerField(default=1)),
                        ("actor_id", models.BigIntegerField(blank=True, null=True)),
                        ("actor_username", models.CharField(blank=True, max_length=150)),
                        ("actor_agency", models.CharField(blank=True, max_length=32)),
                        ("actor_role", models.CharField(blank=True, help_text="The actor's roles, comma-separated.", max_length=128)),
                        ("api_key_id", models.BigIntegerField(blank=True, null=True)),
                        ("employer_id", models.BigIntegerField(blank=True, null=True)),
                        ("action", models.CharField(max_length=64)),
                        ("object_type", models.CharField(blank=True, max_length=64)),
                        ("object_id", models.CharField(blank=True, max_length=64)),
                        ("subjects", django.contrib.postgres.fields.ArrayField(base_field=models.CharField(max_length=80), blank=True, default=list, size=None)),
                        ("search_kind", models.CharField(blank=True, max_length=32)),
                        ("search_hmac", models.CharField(blank=True, help_text="HMAC of the normalized searched value.", max_length=64)),
                        ("ip", models.GenericIPAddressField(blank=True, null=True)),
                        ("user_agent", models.CharField(blank=True, max_length=400)),
                        ("request_id", models.CharField(blank=True, max_length=64)),
                        ("task_name", models.CharField(blank=True, max_length=128)),
                        ("run_id", models.CharField(blank=True, max_length=64)),
                        ("case_id", models.BigIntegerField(blank=True, null=True)),
                        ("agreement_id", models.BigIntegerField(blank=True, null=True)),
                        ("justification", models.TextField(blank=True)),
                        ("break_glass", models.BooleanField(default=False)),
                        ("outcome", models.CharField(choices=[("allowed", "Allowed"), ("denied", "Denied")], default="allowed", max_length=8)),
                        ("changes", models.JSONField(blank=True, default=dict)),
                        ("detail", models.JSONField(blank=True, default=dict)),
                    ],
                    options={"db_table": "audit_event", "ordering": ["-id"], "managed": True},
                ),
                migrations.CreateModel(
                    name="AuditSeal",
                    fields=[
                        ("seq", models.BigIntegerField(primary_key=True, serialize=False)),
                        ("event_id", models.BigIntegerField()),
                        ("occurred_at", models.DateTimeField()),
                        ("prev_hash", models.BinaryField()),
                        ("hash", models.BinaryField()),
                        ("sealed_at", models.DateTimeField()),
                    ],
                    options={"db_table": "audit_seal", "ordering": ["seq"], "managed": True},
                ),
            ],
        ),
        migrations.CreateModel(
            name="VerificationRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("started_at", models.DateTimeField()),
                ("finished_at", models.DateTimeField(null=True)),
                ("from_seq", models.BigIntegerField(null=True)),
                ("to_seq", models.BigIntegerField(null=True)),
                ("checked", models.BigIntegerField(default=0)),
                ("ok", models.BooleanField(null=True)),
                ("first_bad_seq", models.BigIntegerField(null=True)),
                ("first_bad_event_id", models.BigIntegerField(null=True)),
                ("problem", models.TextField(blank=True)),
                ("checkpoints_checked", models.IntegerField(default=0)),
                ("unsealed", models.BigIntegerField(default=0)),
                ("trigger", models.CharField(default="schedule", max_length=32)),
            ],
            options={"db_table": "audit_verification_run", "ordering": ["-started_at"]},
        ),
        migrations.CreateModel(
            name="ReviewAssignment",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("event_id", models.BigIntegerField()),
                ("event_occurred_at", models.DateTimeField()),
                ("event_actor_id", models.BigIntegerField(null=True)),
                ("reason", models.CharField(choices=[("sample", "Random sample"), ("flag", "Anomaly flag")], max_length=8)),
                ("rule", models.CharField(blank=True, max_length=48)),
                ("explanation", models.TextField(blank=True)),
                ("assigned_at", models.DateTimeField(auto_now_add=True)),
                ("reviewed_at", models.DateTimeField(blank=True, null=True)),
                ("note", models.TextField(blank=True)),
                ("reviewer", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="audit_reviews", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "db_table": "audit_review_assignment",
                "ordering": ["reviewed_at", "-assigned_at"],
                "indexes": [models.Index(fields=["reviewer", "reviewed_at"], name="audit_review_queue")],
                "constraints": [
                    models.UniqueConstraint(fields=("event_id", "reviewer", "rule"), name="audit_review_once_per_rule"),
                    models.CheckConstraint(condition=models.Q(("reviewed_at__isnull", True), models.Q(("note", ""), _negated=True), _connector="OR"), name="audit_review_needs_note"),
                ],
            },
        ),
        migrations.CreateModel(
            name="RowChange",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("changed_at", models.DateTimeField()),
                ("table_name", models.CharField(max_length=63)),
                ("row_pk", models.CharField(max_length=64)),
                ("operation", models.CharField(max_length=8)),
                ("old", models.JSONField(null=True)),
                ("new", models.JSONField(null=True)),
                ("db_user", models.CharField(max_length=63)),
                ("app_user_id", models.BigIntegerField(null=True)),
                ("request_id", models.CharField(blank=True, max_length=64)),
            ],
            options={
                "db_table": "audit_row_change",
                "ordering": ["-id"],
                "indexes": [models.Index(fields=["table_name", "row_pk", "id"], name="audit_rowchange_row")],
            },
        ),
    ]
