"""`manage.py backup` / `restore`: a restore into a new database keeps the proof, and only then.

Two tests (each costs a flush of the test database): the round trip with its refusals, and the
edited dump.

Real pg_dump and pg_restore, real databases on the test server: the restored database must pass
`audit_verify` against the checkpoints kept outside it; a target that is not empty is refused;
a dump whose chain was edited after the backup is refused, and fails verification if forced in.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection

from audit import backup, chain
from audit.services import event_record
from tests.audit.conftest import seal_all
from tests.databases import db_url, pg, scratch_databases  # noqa: F401 - the `scratch` fixture

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def trail(alice):
    """A few committed, sealed events and a signed checkpoint, as beat leaves them."""
    for i in range(5):
        event_record(action="auth.login", actor=alice, detail={"n": i})
    seal_all()
    chain.checkpoint_sign()
    return alice


def take(tmp_path: Path, name: str = "crosscheck.dump") -> Path:
    dump = tmp_path / name
    call_command("backup", str(dump))
    return dump


def test_a_restore_into_a_new_database_passes_the_verifier_against_the_checkpoints(
    trail, tmp_path, scratch, capsys
):
    dump = take(tmp_path)
    manifest = json.loads(backup.manifest_path(dump).read_text())
    head = manifest["checkpoint"]
    assert head["seq"] >= 5  # the five logins at least
    assert manifest["server_major"] == int(
        pg("postgres", "SHOW server_version_num")[0][0][:2]
    )  # the versions it was taken with are on record
    # The live database goes on after the backup, and beat signs a checkpoint the dump lacks.
    for _ in range(3):
        event_record(action="auth.logout", actor=trail)
    seal_all()
    later = chain.checkpoint_sign()
    assert later is not None
    assert later.seq > head["seq"]

    # Why the restore record exists: a plain pg_restore of the dump fails the verifier, the
    # later checkpoint reading as a cut tail.
    plain = scratch("plain")
    pg("postgres", f'CREATE DATABASE "{plain}"')
    pg_restore, _ = backup.pg_tool("pg_restore", at_least=manifest["pg_dump_major"])
    subprocess.run([pg_restore, "--dbname", db_url(plain), str(dump)], check=True)
    result = backup._verify(db_url(plain), Path(django_settings.AUDIT_CHECKPOINT_PATH))
    assert not result["ok"]
    assert "were removed" in result["problem"]

    target = scratch("restored")
    call_command("restore", str(dump), database_url=db_url(target))
    out = capsys.readouterr().out
    assert f"Restored into {target} (created): audit chain intact" in out
    assert f"restore record at seq {head['seq']}" in out
    # The restored trail is the backup's: the logins, not the later logouts.
    actions = [r[0] for r in pg(target, "SELECT action FROM audit_event ORDER BY id")]
    assert actions.count("auth.login") == 5
    assert "auth.logout" not in actions
    assert actions[-1] == "audit.verified"  # the verification the restore ran, on record
    # The checkpoint file holds a signed restore record at the backup's head: the checkpoint
    # signed later belongs to the history the restore rolled back, and is set aside.
    lines = [
        json.loads(x) for x in Path(django_settings.AUDIT_CHECKPOINT_PATH).read_text().splitlines()
    ]
    assert lines[-1]["kind"] == "restore"
    assert lines[-1]["seq"] == head["seq"]
    assert lines[-1]["backup"]["sha256"] == manifest["sha256"]
    # `audit_verify` on the restored database, as an operator would run it afterwards.
    verified = subprocess.run(
        [sys.executable, "manage.py", "audit_verify", "--json"],
        env={
            **os.environ,
            "DATABASE_URL": db_url(target),
            "CROSSCHECK_AUDIT_CHECKPOINT_PATH": django_settings.AUDIT_CHECKPOINT_PATH,
            "CROSSCHECK_AUDIT_CHECKPOINT_KEY_FILE": django_settings.AUDIT_CHECKPOINT_KEY_FILE,
        },
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    result = json.loads(verified.stdout.strip().splitlines()[-1])
    assert verified.returncode == 0, result
    assert result["ok"]
    assert result["checkpoints_checked"] >= 2

    # A restore never goes into a database that holds anything: the one just restored, or the
    # live one.
    for name in (target, connection.settings_dict["NAME"]):
        before = pg(name, "SELECT count(*) FROM audit_event")
        with pytest.raises(CommandError) as exc:
            call_command("restore", str(dump), database_url=db_url(name))
        message = str(exc.value)
        assert f"Database '{name}' is not empty" in message
        assert "a restore goes only into a new, empty database" in message
        assert pg(name, "SELECT count(*) FROM audit_event") == before  # nothing was touched


def test_a_dump_whose_chain_was_edited_after_the_backup_fails(trail, tmp_path, scratch):
    dump = take(tmp_path)
    # The attacker restores the dump elsewhere, rewrites one login (triggers off, as a
    # superuser may), and dumps it again under the old name's manifest.
    work = scratch("attacker")
    call_command(
        "restore", str(dump), database_url=db_url(work), checkpoints=str(tmp_path / "a.jsonl")
    )
    conn = psycopg2.connect(db_url(work))
    with conn, conn.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        cur.execute(
            "UPDATE audit_event SET actor_username = 'nobody' WHERE id = "
            "(SELECT min(id) FROM audit_event WHERE action = 'auth.login')"
        )
        assert cur.rowcount == 1
    conn.close()
    edited = tmp_path / "edited.dump"
    pg_dump, _ = backup.pg_tool(
        "pg_dump", at_least=json.loads(backup.manifest_path(dump).read_text())["server_major"]
    )
    subprocess.run([pg_dump, "--format=custom", f"--file={edited}", db_url(work)], check=True)
    shutil.copy(backup.manifest_path(dump), backup.manifest_path(edited))

    target = scratch("edited")
    with pytest.raises(CommandError) as exc:
        call_command("restore", str(edited), database_url=db_url(target))
    assert "changed after the backup" in str(exc.value)

    # A forged manifest (the new sha256 written in) does not carry the key's signature.
    forged = json.loads(backup.manifest_path(edited).read_text())
    forged["sha256"] = backup._sha256(edited)
    backup.manifest_path(edited).write_text(json.dumps(forged))
    with pytest.raises(CommandError) as exc:
        call_command("restore", str(edited), database_url=db_url(target))
    assert "does not carry a valid signature" in str(exc.value)

    # Forced in as a plain dump, the verifier finds the edited event.
    with pytest.raises(CommandError) as exc:
        call_command("restore", str(edited), database_url=db_url(target), no_manifest=True)
    message = str(exc.value)
    assert "its audit chain does not verify" in message
    assert "Do not put this database in service" in message
    # The checkpoint file was left as it was: no restore record for a chain that failed.
    kinds = [
        json.loads(x).get("kind", "checkpoint")
        for x in Path(django_settings.AUDIT_CHECKPOINT_PATH).read_text().splitlines()
    ]
    assert "restore" not in kinds
