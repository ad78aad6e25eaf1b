"""`manage.py audit_restrict_role ROLE`: the application's role may only INSERT and SELECT the trail.

Run it as the tables' owner (the migration role) where the deployment gives the application its
own PostgreSQL role. PostgreSQL checks privileges on the partitioned parent, so the partitions
created later need no grant of their own. The sealer function runs as the owner
(SECURITY DEFINER), so the application role needs no INSERT on the seal table either.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

TABLES = ["audit_event", "audit_seal", "audit_row_change", "audit_retention_anchor"]


class Command(BaseCommand):
    help = (
        "Restrict a PostgreSQL role to INSERT and SELECT on the audit tables (run as their owner)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("role", help="the application's PostgreSQL role")
        parser.add_argument("--dry-run", action="store_true", help="print the statements only")

    def handle(self, *args: Any, role: str, dry_run: bool, **options: Any) -> None:
        quote = connection.ops.quote_name
        statements = []
        for table in TABLES:
            statements.append(f"REVOKE ALL ON {quote(table)} FROM {quote(role)}")
            statements.append(f"GRANT SELECT, INSERT ON {quote(table)} TO {quote(role)}")
        statements.append(f"REVOKE INSERT ON {quote('audit_seal')} FROM {quote(role)}")
        statements.append(f"GRANT USAGE ON SEQUENCE audit_event_id_seq TO {quote(role)}")
        statements.append("ALTER FUNCTION audit_seal_pending(integer, integer) SECURITY DEFINER")
        statements.append("ALTER FUNCTION audit_partition_drop(date) SECURITY DEFINER")
        statements.append(
            f"REVOKE EXECUTE ON FUNCTION audit_partition_drop(date) FROM PUBLIC, {quote(role)}"
        )
        if dry_run:
            self.stdout.write(";\n".join(statements) + ";")
            return
        try:
            with connection.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
        except Exception as exc:
            raise CommandError(f"Could not restrict {role}: {exc}") from exc
        self.stdout.write(
            self.style.SUCCESS(f"{role} may now only INSERT and SELECT the audit trail.")
        )
