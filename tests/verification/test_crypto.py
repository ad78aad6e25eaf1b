import base64

import pytest
from django.db import connection

from privacy import crypto
from privacy.crypto import DecryptionFailed
from tests.verification.conftest import i9
from verification import services
from verification.identifiers import reveal

KEY_A = "a1:" + base64.b64encode(b"A" * 32).decode()
KEY_B = "b2:" + base64.b64encode(b"B" * 32).decode()


def test_it_round_trips_an_identifier():
    token = crypto.encrypt("521874390", table="t", column="c", row_id=7)
    assert "521874390" not in token
    assert crypto.decrypt(token, table="t", column="c", row_id=7) == "521874390"


def test_it_names_the_key_in_the_token(settings):
    settings.DATA_KEYS = f"{KEY_A},{KEY_B}"
    assert crypto.encrypt("1", table="t", column="c", row_id=1).startswith("a1$")


def test_two_encryptions_of_one_value_differ():
    a = crypto.encrypt("521874390", table="t", column="c", row_id=1)
    b = crypto.encrypt("521874390", table="t", column="c", row_id=1)
    assert a != b


@pytest.mark.parametrize("position", [3, 10, 20, -2])
def test_a_flipped_byte_fails(position):
    token = crypto.encrypt("521874390", table="t", column="c", row_id=1)
    kid, body = token.split("$")
    raw = bytearray(base64.urlsafe_b64decode(body))
    raw[position] ^= 0x01
    tampered = f"{kid}${base64.urlsafe_b64encode(bytes(raw)).decode()}"
    with pytest.raises(DecryptionFailed):
        crypto.decrypt(tampered, table="t", column="c", row_id=1)


@pytest.mark.parametrize(
    ("table", "column", "row_id"), [("t", "c", 2), ("u", "c", 1), ("t", "d", 1)]
)
def test_a_ciphertext_moved_to_another_row_column_or_table_fails(table, column, row_id):
    token = crypto.encrypt("521874390", table="t", column="c", row_id=1)
    with pytest.raises(DecryptionFailed):
        crypto.decrypt(token, table=table, column=column, row_id=row_id)


def test_an_unknown_key_id_fails(settings):
    settings.DATA_KEYS = KEY_A
    token = crypto.encrypt("1", table="t", column="c", row_id=1)
    settings.DATA_KEYS = KEY_B
    with pytest.raises(DecryptionFailed):
        crypto.decrypt(token, table="t", column="c", row_id=1)


def test_the_blind_index_is_keyed_and_normalized(settings):
    a = crypto.blind_index("521-87-4390", kind="ssn")
    assert a == crypto.blind_index("521874390", kind="ssn")
    assert a != crypto.blind_index("521874390", kind="a_number")
    settings.BLIND_INDEX_KEY = "another-key"
    assert a != crypto.blind_index("521874390", kind="ssn")


def test_last4_and_mask():
    assert crypto.last4("521-87-4390") == "4390"
    assert crypto.mask("6789") == "•••6789"


@pytest.mark.django_db
def test_a_token_moved_to_another_case_row_does_not_open(employer, ssa):
    a = services.case_create(actor=None, employer=employer, data=i9())
    b = services.case_create(
        actor=None,
        employer=employer,
        data=i9(
            ssn="234-56-7890",
            first_name="José",
            last_name="Hernández-Díaz",
            date_of_birth=__import__("datetime").date(1985, 11, 3),
        ),
    )
    assert reveal(a, "ssn") == "521874390"
    b.ssn_enc = a.ssn_enc
    with pytest.raises(DecryptionFailed):
        reveal(b, "ssn")


def _text_columns():
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.table_name, c.column_name FROM information_schema.columns c
            JOIN information_schema.tables t ON t.table_name = c.table_name AND t.table_schema = c.table_schema
            WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
              AND c.data_type IN ('text', 'character varying', 'jsonb', 'json', 'ARRAY')
            """
        )
        return cursor.fetchall()


@pytest.mark.django_db(transaction=False)
def test_no_plaintext_canary_ssn_in_any_table(employer, ssa, api_client_for):
    canary = "521874390"
    services.case_create(actor=None, employer=employer, data=i9(employer_case_id="canary-1"))
    client = api_client_for(employer)
    response = client.post(
        "/api/v1/cases/",
        i9(
            ssn="521-87-4390",
            duplicate_reason="other",
            duplicate_reason_text="Second job",
            employer_case_id="canary-2",
        ),
        format="json",
        HTTP_IDEMPOTENCY_KEY="canary",
    )
    assert response.status_code == 201, response.content
    hits = []
    with connection.cursor() as cursor:
        for table, column in _text_columns():
            for needle in (canary, "521-87-4390", "521 87 4390"):
                cursor.execute(
                    f'SELECT count(*) FROM "{table}" WHERE "{column}"::text LIKE %s',
                    [f"%{needle}%"],
                )
                if cursor.fetchone()[0]:
                    hits.append((table, column, needle))
    assert hits == []


@pytest.mark.django_db
def test_key_rotation_re_encrypts_in_chunks_with_reads_in_between(employer, ssa, settings):
    from django.core.management import call_command

    from verification.models import Numident, VerificationCase
    from verification.rotation import pending

    dev_key = settings.DATA_KEYS  # the fixture's Numident rows are sealed under it
    settings.DATA_KEYS = KEY_A
    case = services.case_create(actor=None, employer=employer, data=i9(document_number="X1234567"))
    assert case.ssn_enc.startswith("a1$")
    old_numident = Numident.objects.first().ssn_enc
    settings.DATA_KEYS = f"{KEY_B},{KEY_A},{dev_key}"
    # Old tokens still read while new writes use the new key.
    case.refresh_from_db()
    assert reveal(case, "ssn") == "521874390"
    assert pending()["verification_verificationcase"] == 1
    call_command("rotate_keys", chunk=1)
    case.refresh_from_db()
    assert case.ssn_enc.startswith("b2$")
    assert case.document_number_enc.startswith("b2$")
    assert reveal(case, "ssn") == "521874390"
    assert Numident.objects.first().ssn_enc != old_numident
    assert all(v == 0 for v in pending().values())
    # Once rotated, the old keys can go.
    settings.DATA_KEYS = KEY_B
    assert reveal(VerificationCase.objects.get(pk=case.pk), "ssn") == "521874390"


def test_the_blind_index_equals_a_standard_hmac():
    import hashlib
    import hmac

    key = crypto.blind_index_key()
    assert (
        crypto.blind_index("521-87-4390", kind="ssn")
        == hmac.new(key, b"ssn|521874390", hashlib.sha256).hexdigest()
    )


@pytest.mark.django_db
def test_every_blind_index_column_compares_bytes():
    # Hex digests under "C": equality is memcmp, index builds sort fast, and a join of two blind
    # indexes never meets two collations. A new `*_bidx` column must say db_collation="C" too.
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.relname || '.' || a.attname, coalesce(co.collname, '') FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid LEFT JOIN pg_collation co ON co.oid = a.attcollation "
            "WHERE c.relkind = 'r' AND c.relnamespace = current_schema()::regnamespace "
            "AND a.attname LIKE %s AND a.attnum > 0 AND NOT a.attisdropped",
            [r"%\_bidx"],
        )
        columns = dict(cur.fetchall())
    assert len(columns) == 11
    assert {name for name, collation in columns.items() if collation != "C"} == set()


@pytest.mark.django_db
def test_no_identifier_in_logs_or_the_celery_message(employer, ssa, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    services.case_create(actor=None, employer=employer, data=i9())
    from verification.tasks import deadlines_sweep

    message = deadlines_sweep.s().args
    assert "521874390" not in caplog.text
    assert "4390" not in str(message)
