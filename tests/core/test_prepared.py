import pytest
from django.db import DatabaseError, connection, transaction

from core.prepared import execute_prepared

pytestmark = pytest.mark.django_db


def _prepared(prefix: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM pg_prepared_statements WHERE name LIKE %s ORDER BY name",
            [f"{prefix}%"],
        )
        return [row[0] for row in cursor.fetchall()]


def test_a_statement_is_prepared_once_per_session_and_answers_as_the_plain_query():
    with connection.cursor() as cursor:
        for value in ("a", "b"):
            execute_prepared(
                cursor, name="t_once", sql="SELECT %s || %s", params=[value, "5%"], variable={0}
            )
            assert cursor.fetchone()[0] == f"{value}5%"
    assert _prepared("t_once") == ["t_once_0"]


def test_a_failed_first_call_prepares_again_under_a_new_name():
    with connection.cursor() as cursor:
        with pytest.raises(DatabaseError), transaction.atomic():
            execute_prepared(cursor, name="t_fail", sql="SELECT 1 / %s", params=[0], variable={0})
        execute_prepared(cursor, name="t_fail", sql="SELECT 1 / %s", params=[1], variable={0})
        assert cursor.fetchone()[0] == 1
    assert _prepared("t_fail") == ["t_fail_0", "t_fail_1"]
