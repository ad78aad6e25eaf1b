"""Backups that keep the proof: pg_dump and pg_restore (custom format) with a signed manifest.

`backup_take` seals the chain and signs its head into the checkpoint file, dumps the database
with the real `pg_dump`, and writes `FILE.manifest.json` beside the dump: its sha256, the
versions of the server and of pg_dump, and the signed head, the whole signed with the checkpoint
key. `restore_into` refuses a dump that does not match its signed manifest and a target that is
not empty, restores with the real `pg_restore`, then runs `audit_verify` on the restored
database against the checkpoints kept outside it, with a signed restore record at the backup's
head (audit/checkpoints.py says why); it fails unless the chain verifies.
"""

from __future__ import annotations

import glob
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dj_database_url
import psycopg2
from django.conf import settings
from django.db import connection, transaction
from psycopg2 import sql

from audit.checkpoints import (
    checkpoint_path,
    restore_record_sign,
    sign_bytes,
    signature_valid,
)
from audit.services import event_record
from audit.services_admin import checkpoint_record

MANIFEST_FORMAT = "crosscheck-backup/1"
MANIFEST_SUFFIX = ".manifest.json"
VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass
class RestoreReport:
    """What a restore did, and what the verifier found on the restored database."""

    database: str
    created: bool
    checked: int = 0
    checkpoints_checked: int = 0
    head_seq: int | None = None
    verify: dict[str, Any] = field(default_factory=dict)


# --- PostgreSQL connections and binaries -------------------------------------------------------
def _params(db: dict[str, Any]) -> dict[str, str]:
    """libpq parameters of a Django database dict (password kept off any command line)."""
    out = {
        "dbname": str(db.get("NAME") or ""),
        "user": str(db.get("USER") or ""),
        "password": str(db.get("PASSWORD") or ""),
        "host": str(db.get("HOST") or ""),
        "port": str(db.get("PORT") or ""),
    }
    return {k: v for k, v in out.items() if v}


def _libpq_env(params: dict[str, str]) -> dict[str, str]:
    names = {"dbname": "PGDATABASE", "user": "PGUSER", "password": "PGPASSWORD"}
    names |= {"host": "PGHOST", "port": "PGPORT"}
    return {**os.environ, **{names[k]: v for k, v in params.items()}}


def _server(params: dict[str, str]) -> tuple[int, str]:
    """(major version, full version) of the server `params` reach."""
    try:
        conn = psycopg2.connect(**params)
    except psycopg2.OperationalError as exc:
        raise BackupError(f"Cannot reach database {params.get('dbname', '')!r}: {exc}") from exc
    with conn, conn.cursor() as cur:
        cur.execute("SELECT current_setting('server_version_num')::int, version()")
        num, full = cur.fetchone()
    conn.close()
    return int(num) // 10000, str(full).split(" on ")[0]


def _tool_version(path: str) -> tuple[int, str]:
    argv = [path, "--version"]  # a PostgreSQL tool found by `_candidates`; no shell
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout  # noqa: S603
    found = VERSION.search(out)
    if not found:
        raise BackupError(f"{path} --version said {out.strip()!r}: not a PostgreSQL tool")
    return int(found.group(1)), out.strip()


def _candidates(name: str) -> list[str]:
    """Where `name` may be: CROSSCHECK_PG_BIN, the PATH, the embedded server's wheel, Debian's."""
    dirs = [os.environ.get("CROSSCHECK_PG_BIN", "")]
    on_path = shutil.which(name)
    dirs.append(str(Path(on_path).parent) if on_path else "")
    spec = importlib.util.find_spec("pgserver")
    if spec and spec.origin:
        dirs.append(str(Path(spec.origin).parent / "pginstall" / "bin"))
    dirs += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_dir_major, reverse=True)
    found = [str(Path(d) / name) for d in dirs if d and (Path(d) / name).is_file()]
    return list(dict.fromkeys(found))


def _dir_major(path: str) -> int:
    part = Path(path).parent.name
    return int(part) if part.isdigit() else 0


def pg_tool(name: str, *, at_least: int) -> tuple[str, str]:
    """(path, version line) of the first `name` whose major version is at least `at_least`."""
    seen = []
    for path in _candidates(name):
        major, line = _tool_version(path)
        if major >= at_least:
            return path, line
        seen.append(f"{path} ({line})")
    raise BackupError(
        f"No {name} of PostgreSQL {at_least} or later: found {', '.join(seen) or 'none'}. "
        f"Install it, or point CROSSCHECK_PG_BIN at its bin directory."
    )


# --- The manifest ------------------------------------------------------------------------------
def manifest_path(dump: Path) -> Path:
    """The manifest beside a dump: FILE.manifest.json."""
    return dump.with_name(dump.name + MANIFEST_SUFFIX)


def _canonical(manifest: dict[str, Any]) -> bytes:
    body = {k: v for k, v in manifest.items() if k not in {"signature", "key"}}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_check(dump: Path) -> dict[str, Any]:
    """The dump's manifest, its signature and the dump's sha256 checked (BackupError if not)."""
    path = manifest_path(dump)
    if not path.exists():
        raise BackupError(
            f"{path} is missing: a backup of `manage.py backup` has its signed manifest beside it. "
            "To restore a plain pg_dump file, pass --no-manifest (its chain is still verified)."
        )
    manifest: dict[str, Any] = json.loads(path.read_text())
    if manifest.get("format") != MANIFEST_FORMAT:
        raise BackupError(f"{path} is not a Crosscheck backup manifest ({MANIFEST_FORMAT}).")
    if not signature_valid(_canonical(manifest), str(manifest.get("signature", ""))):
        raise BackupError(
            f"{path} does not carry a valid signature of the audit checkpoint key: it was edited, "
            "or signed by another key. Refusing to restore."
        )
    actual = _sha256(dump)
    if actual != manifest["sha256"]:
        raise BackupError(
            f"{dump} changed after the backup: its sha256 is {actual}, the signed manifest says "
            f"{manifest['sha256']}. Refusing to restore."
        )
    return manifest


# --- Backup ------------------------------------------------------------------------------------
def backup_take(*, path: Path, actor: Any = None) -> dict[str, Any]:
    """Sign the chain head, dump the database (custom format) to `path`, write the signed manifest."""
    params = _params(connection.settings_dict)
    major, server_version = _server(params)
    pg_dump, pg_dump_version = pg_tool("pg_dump", at_least=major)
    checkpoint = checkpoint_record()
    with transaction.atomic():
        event_record(
            action="audit.backup_taken",
            actor=actor,
            object_type="audit.backup",
            object_id=path.name,
            detail={
                "file": path.name,
                "checkpoint_seq": checkpoint.seq if checkpoint else None,
                "pg_dump": pg_dump_version,
            },
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    done = subprocess.run(  # noqa: S603 - an argv list, no shell; the password stays in the env
        [pg_dump, "--format=custom", "--no-password", f"--file={partial}"],
        env=_libpq_env(params),
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed (exit {done.returncode}): {done.stderr.strip()}")
    os.replace(partial, path)
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "file": path.name,
        "sha256": _sha256(path),
        "bytes": path.stat().st_size,
        "taken_at": datetime.now(UTC).isoformat(),
        "database": params.get("dbname", ""),
        "server_major": major,
        "server_version": server_version,
        "pg_dump": pg_dump_version,
        "pg_dump_major": int(VERSION.search(pg_dump_version).group(1)),  # type: ignore[union-attr]
        "checkpoint": (
            {
                "seq": checkpoint.seq,
                "hash": checkpoint.hash,
                "event_id": checkpoint.event_id,
                "signed_at": checkpoint.signed_at,
            }
            if checkpoint
            else None
        ),
    }
    manifest["signature"], manifest["key"] = sign_bytes(_canonical(manifest))
    target = manifest_path(path)
    target.with_name(target.name + ".partial").write_text(json.dumps(manifest, indent=2) + "\n")
    os.replace(target.with_name(target.name + ".partial"), target)
    return manifest


# --- Restore -----------------------------------------------------------------------------------
def _ensure_empty(params: dict[str, str]) -> bool:
    """Create the target database if it does not exist; refuse one that holds anything.

    True when it was created here.
    """
    name = params.get("dbname", "")
    try:
        target = psycopg2.connect(**params)
    except psycopg2.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise BackupError(f"Cannot reach the target database {name!r}: {exc}") from exc
        admin = psycopg2.connect(**{**params, "dbname": "postgres"})
        admin.autocommit = True
        try:
            with admin.cursor() as cur:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        finally:
            admin.close()
        return True
    with target, target.cursor() as cur:
        cur.execute(
            """SELECT n.nspname || '.' || c.relname FROM pg_class c
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
                  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                  AND n.nspname NOT LIKE 'pg_toast%%' AND n.nspname NOT LIKE 'pg_temp%%'
                ORDER BY 1"""
        )
        held = [row[0] for row in cur.fetchall()]
    target.close()
    if held:
        raise BackupError(
            f"Database {name!r} is not empty ({len(held)} tables, sequences or views, e.g. "
            f"{', '.join(held[:3])}): a restore goes only into a new, empty database. "
            "Name another, or drop this one first if it is truly expendable."
        )
    return False


def _pg_restore(
    dump: Path, params: dict[str, str], *, at_least: int, no_owner: bool
) -> subprocess.CompletedProcess[str]:
    pg_restore, _ = pg_tool("pg_restore", at_least=at_least)
    command = [pg_restore, "--exit-on-error", "--single-transaction", "--no-password"]
    if no_owner:
        command += ["--no-owner", "--no-privileges"]
    command += [f"--dbname={params['dbname']}", str(dump)]
    return subprocess.run(  # noqa: S603 - an argv list, no shell; the password stays in the env
        command, env=_libpq_env(params), capture_output=True, text=True, check=False
    )


def _trial_checkpoints(manifest: dict[str, Any] | None, dump: Path, trial: Path) -> bool:
    """Write the checkpoints the restored database is held to into `trial`: the configured file's
    lines, then a restore record at the backup's head. False when the backup names no head."""
    source = checkpoint_path()
    trial.write_text(source.read_text() if source.exists() else "")
    head = (manifest or {}).get("checkpoint")
    if not head:
        return False
    restore_record_sign(
        seq=int(head["seq"]),
        digest=str(head["hash"]),
        event_id=int(head["event_id"]),
        backup={"file": dump.name, "sha256": manifest["sha256"], "taken_at": manifest["taken_at"]}
        if manifest
        else {},
        path=trial,
    )
    return True


def _verify(url: str, checkpoints_file: Path) -> dict[str, Any]:
    """`manage.py audit_verify --json` on the restored database, with these checkpoints."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "CROSSCHECK_AUDIT_CHECKPOINT_PATH": str(checkpoints_file),
        "CROSSCHECK_AUDIT_CHECKPOINT_KEY_FILE": str(settings.AUDIT_CHECKPOINT_KEY_FILE),
        "CROSSCHECK_AUDIT_CHECKPOINT_PUBLIC_KEY_FILE": str(
            getattr(settings, "AUDIT_CHECKPOINT_PUBLIC_KEY_FILE", "") or ""
        ),
        "CROSSCHECK_AUDIT_CHECKPOINT_KEY_CREATE": "0",
    }
    manage = str(settings.BASE_DIR / "manage.py")
    done = subprocess.run(  # noqa: S603 - this interpreter and our manage.py, no shell
        [sys.executable, manage, "audit_verify", "--json", "--trigger", "restore"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise BackupError(f"audit_verify on the restored database failed: {done.stderr.strip()}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def restore_into(
    *,
    dump: Path,
    url: str,
    checkpoints_file: Path | None = None,
    no_owner: bool = False,
    no_manifest: bool = False,
) -> RestoreReport:
    """Restore `dump` into the new database at `url` and verify its chain (BackupError if not)."""
    manifest = None if no_manifest else manifest_check(dump)
    params = _params(dict(dj_database_url.parse(url)))
    if not params.get("dbname"):
        raise BackupError(f"{url!r} names no database.")
    source_file = checkpoint_path()
    target_file = checkpoints_file or source_file
    if target_file.resolve() != source_file.resolve() and target_file.exists():
        raise BackupError(
            f"{target_file} exists: the restored database's checkpoints go to a new file."
        )
    created = _ensure_empty(params)
    major, _ = _server(params)
    if manifest and major < int(manifest["server_major"]):
        raise BackupError(
            f"The dump comes from PostgreSQL {manifest['server_major']}; the target runs {major}. "
            "Restore into a server of the same or a later major version."
        )
    at_least = int(manifest["pg_dump_major"]) if manifest else major
    done = _pg_restore(dump, params, at_least=at_least, no_owner=no_owner)
    if done.returncode:
        raise BackupError(
            f"pg_restore failed (exit {done.returncode}); nothing was restored (one transaction): "
            f"{done.stderr.strip()[-2000:]}"
        )
    trial = target_file.with_name(f"{target_file.name}.restoring-{os.getpid()}")
    try:
        recorded = _trial_checkpoints(manifest, dump, trial)
        result = _verify(url, trial)
        if not result.get("ok"):
            raise BackupError(
                f"Restored into {params['dbname']!r}, but its audit chain does not verify: "
                f"{result.get('problem')} (seq {result.get('first_bad_seq')}). Do not put this "
                "database in service; keep it for investigation."
            )
        if target_file.resolve() == source_file.resolve() and recorded:
            with source_file.open("a") as handle:
                handle.write(trial.read_text().splitlines(keepends=True)[-1])
        elif target_file.resolve() != source_file.resolve():
            os.replace(trial, target_file)
    finally:
        trial.unlink(missing_ok=True)
    return RestoreReport(
        database=params["dbname"],
        created=created,
        checked=int(result.get("checked") or 0),
        checkpoints_checked=int(result.get("checkpoints_checked") or 0),
        head_seq=int(manifest["checkpoint"]["seq"])
        if manifest and manifest["checkpoint"]
        else None,
        verify=result,
    )
