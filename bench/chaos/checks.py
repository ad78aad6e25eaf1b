"""What the chaos harness compares after each fault, in plain SQL over its own database.

The digest of the findings covers every column a run decides (rule, subject, evidence, severity,
the case and employer named, the compared fields, the evidence, the score and the summary), not
those that differ by nature from one run to the next (ids, the run, timestamps). The flagged
cases' digest covers each case's subject, severity, priority, routing, rules and the exact
findings behind it, not its number or assignee.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from bench.chaos.stack import ROOT

FINDINGS_DIGEST = """
SELECT count(*),
       md5(coalesce(string_agg(md5(concat_ws('|', rule_code, rule_version, family, severity,
           is_clerical, subject_type, subject_key, evidence_key, case_id, employer_id, ssn_index,
           fields::text, evidence::text, score, summary, agreement_id)),
           ',' ORDER BY rule_code, subject_key, evidence_key), ''))
  FROM crossref_finding
"""
CASES_DIGEST = """
SELECT count(*),
       md5(coalesce(string_agg(md5(concat_ws('|', c.kind, c.status, c.subject_kind, c.subject_key,
           c.severity, c.priority, c.score, c.routed_unit_id, c.owning_agency_id, c.state,
           c.employer_ref, c.worker_ref, c.finding_count,
           array_to_string(ARRAY(SELECT unnest(c.rule_codes) ORDER BY 1), ','),
           (SELECT string_agg(k, ',' ORDER BY k)
              FROM (SELECT f.rule_code || ':' || f.subject_key || ':' || f.evidence_key AS k
              FROM cases_casefinding cf JOIN crossref_finding f ON f.id = cf.finding_id
             WHERE cf.case_id = c.id) AS keys))), ',' ORDER BY c.subject_key, c.id), ''))
  FROM cases_case c
"""
CASE_ROWS = """
SELECT c.subject_key, c.kind, c.status, c.subject_kind, c.severity, c.priority, c.score,
       c.routed_unit_id, c.owning_agency_id, c.state, c.employer_ref, c.worker_ref,
       c.finding_count, array_to_string(ARRAY(SELECT unnest(c.rule_codes) ORDER BY 1), ','),
       (SELECT string_agg(k, ',' ORDER BY k)
          FROM (SELECT f.rule_code || ':' || f.subject_key || ':' || f.evidence_key AS k
                  FROM cases_casefinding cf JOIN crossref_finding f ON f.id = cf.finding_id
                 WHERE cf.case_id = c.id) AS keys)
  FROM cases_case c
"""
CASE_COLUMNS = [
    "kind",
    "status",
    "subject_kind",
    "severity",
    "priority",
    "score",
    "routed_unit",
    "owning_agency",
    "state",
    "employer_ref",
    "worker_ref",
    "finding_count",
    "rule_codes",
    "findings",
]
DUPLICATES = """
SELECT (SELECT count(*) - count(DISTINCT (rule_code, subject_key, evidence_key)) FROM crossref_finding)
     + (SELECT count(*) - count(DISTINCT finding_id) FROM cases_casefinding)
     + (SELECT count(*) - count(DISTINCT subject_key) FROM cases_case WHERE status <> 'closed')
"""
# Everything a round adds; the audit trail is append-only and keeps growing across rounds.
RESET = (
    "TRUNCATE crossref_finding, crossref_shadowhit, crossref_partition, crossref_run, "
    "cases_case CASCADE"
)


@dataclass
class Outcome:
    """What one round left behind."""

    status: str
    findings: int
    findings_digest: str
    cases: int
    cases_digest: str
    duplicates: int
    pending: int
    chain_ok: bool
    chain_detail: str
    checkpoint_seq: int
    head_seq: int
    case_rows: dict[str, tuple] | None = None


def case_differences(got: Outcome, ref: Outcome, limit: int = 5) -> list[str]:
    """The first few flagged cases that differ from the undisturbed round's, column by column."""
    a, b = got.case_rows or {}, ref.case_rows or {}
    out = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) == b.get(key):
            continue
        if key not in a or key not in b:
            out.append(f"{key[:24]}: {'missing' if key not in a else 'extra'}")
        else:
            diff = [
                f"{col} {y!r} -> {x!r}"
                for col, x, y in zip(CASE_COLUMNS, a[key][1:], b[key][1:], strict=True)
                if x != y
            ]
            out.append(f"{key[:24]}: {'; '.join(diff)}")
        if len(out) >= limit:
            break
    return out


class Db:
    """A connection to the harness's database that survives the database's restarts."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn: psycopg2.extensions.connection | None = None

    def query(self, sql: str, args: tuple = (), *, retry: float = 0.0) -> list[tuple]:
        """Rows of `sql`; with `retry`, keeps trying that many seconds while the server is away."""
        deadline = time.monotonic() + retry
        while True:
            try:
                if self.conn is None or self.conn.closed:
                    self.conn = psycopg2.connect(self.url)
                    self.conn.autocommit = True
                with self.conn.cursor() as cur:
                    cur.execute(sql, args)
                    return cur.fetchall() if cur.description else []
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.5)

    def one(self, sql: str, args: tuple = (), *, retry: float = 0.0):  # type: ignore[no-untyped-def]
        rows = self.query(sql, args, retry=retry)
        return rows[0] if rows else None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def head_seq(db: Db) -> int:
    row = db.one("SELECT coalesce(max(seq), 0) FROM audit_seal", retry=60)
    return int(row[0])


def unsealed(db: Db) -> int:
    row = db.one(
        """SELECT count(*) FROM audit_event e
            WHERE (e.txid, e.id) > coalesce((SELECT (s.txid, s.event_id) FROM audit_seal s
                                              ORDER BY s.seq DESC LIMIT 1), ('0'::xid8, 0::bigint))""",
        retry=60,
    )
    return int(row[0])


def checkpoint_seq(path: Path) -> int:
    """The highest seq among the whole lines of the checkpoint file (signatures: audit_verify)."""
    best = 0
    try:
        text = path.read_text()
    except FileNotFoundError:
        return 0
    for line in text.splitlines():
        try:
            best = max(best, int(json.loads(line)["seq"]))
        except (ValueError, KeyError, TypeError):
            continue
    return best


def chain_verify(env: dict[str, str]) -> tuple[bool, str]:
    """`manage.py audit_verify --json`: the whole chain against itself and the signed checkpoints."""
    done = subprocess.run(
        [sys.executable, "manage.py", "audit_verify", "--json"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    summary = json.loads(lines[-1]) if lines else {}
    if done.returncode == 0 and summary.get("ok"):
        return True, f"{summary['checked']:,} events, {summary['checkpoints_checked']} checkpoints"
    tail = done.stderr.strip().splitlines()[-1:] or ["?"]
    return False, str(summary.get("problem") or tail[0])


def outcome(db: Db, run_id: int, env: dict[str, str], checkpoints: Path, head: int) -> Outcome:
    status = db.one("SELECT status FROM crossref_run WHERE id = %s", (run_id,), retry=60)[0]
    findings, fdigest = db.one(FINDINGS_DIGEST, retry=60)
    cases, cdigest = db.one(CASES_DIGEST, retry=60)
    duplicates = int(db.one(DUPLICATES, retry=60)[0])
    pending = int(db.one("SELECT count(*) FROM crossref_finding WHERE ingested_at IS NULL")[0])
    ok, detail = chain_verify(env)
    rows = {r[0]: r for r in db.query(CASE_ROWS, retry=60)}
    return Outcome(
        case_rows=rows,
        status=status,
        findings=int(findings),
        findings_digest=fdigest,
        cases=int(cases),
        cases_digest=cdigest,
        duplicates=duplicates,
        pending=pending,
        chain_ok=ok,
        chain_detail=detail,
        checkpoint_seq=checkpoint_seq(checkpoints),
        head_seq=head,
    )
