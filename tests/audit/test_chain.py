"""The chain: sealing, verification and tampering, each reported at the exact first bad event."""

from __future__ import annotations

import pytest
from django.db import connection

from audit import canonical, chain, context
from audit import verify as verify_module
from audit.services import event_record
from tests.audit.conftest import seal_all, sql

# Sealing needs committed transactions, so these tests commit (and the test flush empties the trail).
pytestmark = pytest.mark.django_db(transaction=True)


def _events(n: int, **kwargs) -> list:
    return [
        event_record(action="access.denied", outcome="denied", detail={"n": i}, **kwargs)
        for i in range(n)
    ]


def _seq_of(event) -> int:
    return sql("SELECT seq FROM audit_seal WHERE event_id = %s", [event.pk])[0][0]


def _tamper(statement: str, params: list | None = None) -> None:
    """What a database superuser can do: switch the guard off, change rows, switch it back on."""
    sql("SET session_replication_role = replica")  # no triggers fire: the guard is bypassed
    try:
        sql(statement, params)
    finally:
        sql("SET session_replication_role = origin")


def test_an_intact_chain_verifies(alice):
    _events(5, actor=alice)
    assert seal_all() == 5
    result = chain.verify()
    assert result.ok, result.problem
    assert result.checked == 5
    assert chain.verify(thorough=True).ok


def test_python_and_sql_serializations_agree(alice):
    event_record(
        action="access.denied",
        actor=alice,
        outcome="denied",
        subjects=["person:1", "person:2"],
        justification='quote " backslash \\ tab \t newline \n é 漢字 😀 \u0001',
        detail={"b": [1, 2.5, None, True], "a": {"zz": "x", "y": 1e-7}, "longer_key": "v"},
        changes={"status": ["open", "closed"]},
        search_kind="surname",
        search_value="García",
    )
    with context.bound(ip="2001:db8::1", user_agent=""):
        event_record(
            action="access.denied",
            actor=alice,
            outcome="denied",
            subjects=["NULL", "null", "a b", "{x}", 'q"uote', "back\\slash", "", "comma,here"],
            object_id="(paren)",
            detail={},
        )
    event_record(action="access.denied", outcome="denied")  # no actor: NULL columns
    with context.bound(ip="10.1.2.3/8"):  # an address with a netmask
        event_record(action="access.denied", actor=alice, outcome="denied", subjects=[], case_id=7)
    seal_all()
    sql("SET DateStyle = 'ISO, YMD'")
    sql("SET client_encoding = 'UTF8'")
    rows = sql(
        f"SELECT audit_canonical(e), audit_canonical_v2(e), {canonical._EVENT_COLUMNS} FROM audit_event e"
    )
    assert len(rows) == 4
    for row in rows:
        assert chain.canonical(row[2:]) == row[0]
        assert chain.canonical_bytes(row[2:], 1) == row[0].encode()
        assert chain.canonical_v2(row[2:]) == bytes(row[1])
    # And each seal's hash is over the format-2 bytes the Python reference computes.
    assert chain.verify(thorough=True).ok
    assert {f for (f,) in sql("SELECT DISTINCT format FROM audit_seal")} == {2}


def test_format_2_does_not_depend_on_the_session_time_zone_or_date_style(alice):
    event_record(action="access.denied", actor=alice, outcome="denied")
    sql("SET TimeZone = 'Pacific/Kiritimati'")
    sql("SET DateStyle = 'SQL, DMY'")
    (in_kiritimati,) = sql("SELECT audit_canonical_v2(e) FROM audit_event e")[0]
    sql("SET TimeZone = 'UTC'")
    sql("SET DateStyle = 'ISO, YMD'")
    (in_utc,) = sql("SELECT audit_canonical_v2(e) FROM audit_event e")[0]
    assert bytes(in_kiritimati) == bytes(in_utc)


def test_a_chain_sealed_in_both_formats_verifies(alice):
    events = _events(4, actor=alice)
    assert chain.seal_pending(fmt=1) == 4  # sealed before format 2
    events += _events(4, actor=alice)
    assert chain.seal_pending() == 4
    formats = sql("SELECT format FROM audit_seal ORDER BY seq")
    assert [f for (f,) in formats] == [1] * 4 + [2] * 4
    assert chain.verify().ok
    assert chain.verify(thorough=True).ok
    # An altered event is found whichever format its seal used.
    _tamper("UPDATE audit_event SET actor_role = 'admin' WHERE id = %s", [events[5].pk])
    _tamper("UPDATE audit_event SET actor_role = 'admin' WHERE id = %s", [events[2].pk])
    result = chain.verify()
    assert (result.problem.kind, result.problem.event_id) == ("altered", events[2].pk)
    assert (chain.verify(thorough=True).problem.event_id) == events[2].pk


def test_a_seal_whose_format_is_changed_fails_verification(alice):
    events = _events(3, actor=alice)
    seal_all()
    for forged in (1, 3):
        _tamper("UPDATE audit_seal SET format = %s WHERE event_id = %s", [forged, events[1].pk])
        result = chain.verify()
        assert (result.problem.kind, result.problem.event_id) == ("altered", events[1].pk), forged
        thorough = chain.verify(thorough=True)
        assert (thorough.problem.kind, thorough.problem.event_id) == ("altered", events[1].pk), (
            forged
        )


def test_a_row_altered_with_the_triggers_disabled_is_found_exactly(alice):
    events = _events(6, actor=alice)
    seal_all()
    victim = events[3]
    _tamper("UPDATE audit_event SET detail = '{\"n\": 99}' WHERE id = %s", [victim.pk])
    result = chain.verify()
    assert not result.ok
    assert result.problem.kind == "altered"
    assert result.problem.event_id == victim.pk
    assert result.problem.seq == _seq_of(victim)
    thorough = chain.verify(thorough=True)
    assert (thorough.problem.kind, thorough.problem.event_id) == ("altered", victim.pk)


def test_an_edited_column_is_caught_even_when_the_hash_is_left_alone(alice):
    events = _events(3, actor=alice)
    seal_all()
    _tamper("UPDATE audit_event SET actor_username = 'mallory' WHERE id = %s", [events[0].pk])
    assert chain.verify().problem.event_id == events[0].pk


def test_a_removed_row_is_found_exactly(alice):
    events = _events(5, actor=alice)
    seal_all()
    _tamper("DELETE FROM audit_event WHERE id = %s", [events[2].pk])
    result = chain.verify()
    assert (result.problem.kind, result.problem.event_id) == ("missing", events[2].pk)


def test_a_removed_row_and_its_seal_are_found_exactly(alice):
    events = _events(5, actor=alice)
    seal_all()
    seq = _seq_of(events[2])
    _tamper("DELETE FROM audit_seal WHERE event_id = %s", [events[2].pk])
    _tamper("DELETE FROM audit_event WHERE id = %s", [events[2].pk])
    result = chain.verify()
    assert result.problem.kind == "gap"
    assert result.problem.seq == seq + 1
    assert result.problem.event_id == events[3].pk


def test_two_swapped_rows_are_found_at_the_first(alice):
    events = _events(6, actor=alice)
    seal_all()
    a, b = events[1], events[4]
    # Swap the two events' places in the chain.
    _tamper("UPDATE audit_seal SET seq = -seq WHERE event_id IN (%s, %s)", [a.pk, b.pk])
    sa, sb = _seq_of(a), _seq_of(b)
    _tamper("UPDATE audit_seal SET seq = %s WHERE event_id = %s", [-sb, a.pk])
    _tamper("UPDATE audit_seal SET seq = %s WHERE event_id = %s", [-sa, b.pk])
    result = chain.verify()
    assert not result.ok
    assert result.problem.seq == -sa
    assert result.problem.event_id == b.pk


def test_the_tail_truncated_is_caught_by_the_checkpoint(alice):
    events = _events(6, actor=alice)
    seal_all()
    cp = chain.checkpoint_sign()
    assert cp.seq == 6
    for event in events[4:]:
        _tamper("DELETE FROM audit_seal WHERE event_id = %s", [event.pk])
        _tamper("DELETE FROM audit_event WHERE id = %s", [event.pk])
    result = chain.verify()
    assert not result.ok
    assert result.problem.kind == "truncated"
    assert result.problem.seq == 5


def test_a_whole_chain_recomputed_is_caught_by_the_signed_checkpoint(alice):
    events = _events(5, actor=alice)
    seal_all()
    chain.checkpoint_sign()
    _tamper("UPDATE audit_event SET detail = '{\"n\": 42}' WHERE id = %s", [events[1].pk])
    # The superuser recomputes every hash from the altered rows: the chain is consistent again.
    prev = chain.GENESIS
    rows = sql(
        f"SELECT s.seq, {canonical._EVENT_COLUMNS} FROM audit_seal s JOIN audit_event e ON e.id = s.event_id ORDER BY s.seq"
    )
    for row in rows:
        digest = chain.link_hash(prev, chain.canonical_v2(row[1:]))
        _tamper(
            "UPDATE audit_seal SET prev_hash = %s, hash = %s WHERE seq = %s", [prev, digest, row[0]]
        )
        prev = digest
    assert chain.verify(use_checkpoints=False).ok  # without the checkpoint nothing shows
    result = chain.verify()
    assert not result.ok
    assert result.problem.kind == "rewritten"
    assert "seq 5" in result.problem.message


def test_a_forged_checkpoint_line_is_refused(alice):
    _events(2, actor=alice)
    seal_all()
    chain.checkpoint_sign()
    path = chain.checkpoint_path()
    path.write_text(path.read_text().replace('"seq": 2', '"seq": 1'))
    result = chain.verify()
    assert result.problem.kind == "checkpoint_signature"


def test_a_range_verifies_on_its_own(alice):
    _events(10, actor=alice)
    seal_all()
    result = chain.verify(from_seq=4, to_seq=7, use_checkpoints=False)
    assert result.ok
    assert result.checked == 4


def test_verification_runs_in_chunks(alice):
    events = _events(12, actor=alice)
    seal_all()
    assert chain.verify(chunk=5).ok
    _tamper(
        "UPDATE audit_seal SET prev_hash = %s WHERE event_id = %s", [b"\x01" * 32, events[10].pk]
    )
    result = chain.verify(chunk=5)
    assert result.problem.event_id == events[10].pk


def test_only_ended_transactions_are_sealed(alice):
    from django.db import transaction

    with transaction.atomic():
        event = event_record(action="access.denied", actor=alice, outcome="denied")
        # Our own transaction is still open: its event is beyond the horizon.
        assert chain.seal_pending() == 0
        assert connection.in_atomic_block
        assert sql("SELECT count(*) FROM audit_seal")[0][0] == 0
    assert seal_all() == 1
    assert sql("SELECT event_id FROM audit_seal")[0][0] == event.pk


def test_chunks_run_on_parallel_connections_and_an_error_in_one_reaches_the_caller(
    alice, monkeypatch, settings
):
    settings.AUDIT_VERIFY_WORKERS = 2
    _events(9, actor=alice)
    seal_all()
    seen: list[tuple[int, int]] = []
    real = verify_module._check_chunk

    def spy(a: int, b: int):
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(verify_module, "_check_chunk", spy)
    result = chain.verify(chunk=2, use_checkpoints=False)
    assert result.ok
    assert result.checked == 9
    assert sorted(seen) == [(1, 3), (3, 5), (5, 7), (7, 9), (9, 10)]  # each chunk once

    def broken(a: int, b: int):
        if a == 5:
            raise RuntimeError("chunk 5 failed")
        return real(a, b)

    monkeypatch.setattr(verify_module, "_check_chunk", broken)
    with pytest.raises(RuntimeError, match="chunk 5 failed"):
        chain.verify(chunk=2, use_checkpoints=False)


def test_a_checkpoint_the_disk_has_no_room_for_leaves_no_fragment_behind(alice):
    # Found by `make chaos` (disk full for the checkpoint directory): the append was cut short at
    # the filesystem's last free byte, the fragment stayed, and the next checkpoint, glued to it,
    # was unreadable, so the verifier reported a forged checkpoint file. A file-size limit on this
    # process makes the kernel cut the write short exactly as a full filesystem does.
    import resource
    import signal

    _events(2, actor=alice)
    seal_all()
    chain.checkpoint_sign()
    path = chain.checkpoint_path()
    before = path.read_bytes()
    _events(1, actor=alice)
    seal_all()
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) + 80, hard))
    try:
        with pytest.raises(OSError):
            chain.checkpoint_sign()
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old_handler)
    assert path.read_bytes() == before  # nothing of the refused checkpoint is left

    cp = chain.checkpoint_sign()  # room again: the next one is whole
    assert cp.seq == 3
    assert [c.valid for c in chain.checkpoints()] == [True, True]
    result = chain.verify()
    assert result.ok, result.problem
    assert result.checkpoints_checked == 2
