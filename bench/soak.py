"""Soak (issue 18 §5), `make soak [SOAK_USERS=50 SOAK_MINUTES=5]`: locust on loopback against
gunicorn with the production settings, two Celery workers and beat, a cross-reference run
started half-way.

Everything runs on a database of its own (soak_crosscheck on the PostgreSQL of DATABASE_URL) and
a private redis-server on a spare port; the secrets are made up for the run, as .ci/run's deploy
check makes them. The set-up (`python -m bench.soak setup`, development settings: the demo
directory, a small synthetic world, its cross-reference run and flagged cases, one account with
its own authenticator per simulated person, an employer API key) writes the locustfile's
configuration. Printed: requests/s, p50/p95/p99 per kind, errors (goal 0); then the chain
verified, and the employer cases submitted against those stored (none missing, none twice).
"""

from __future__ import annotations

import argparse
import base64
import csv
import datetime
import ipaddress
import json
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bench.chaos.stack import ROOT, Celery, PrivateRedis, spare_port

SOAK_DB = os.environ.get("SOAK_DB", "soak_crosscheck")


def _setup(out: Path, analysts: int, supervisors: int, cases: int) -> None:
    """Runs under development settings in the soak's database: data, accounts, an API key."""
    import django

    django.setup()
    from django.core.management import call_command
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from audit.checkpoints import signing_key
    from privacy import services as privacy_services
    from privacy.demo import DEMO_PASSWORD
    from privacy.models import RoleGrant, User
    from verification.models import Employer
    from verification.services import apikey_issue

    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0)
    call_command("demo_world", cases=cases, employers=max(10, cases // 50), verbosity=0)
    signing_key()  # created once here; production never makes one up
    accounts: dict[str, list[dict[str, str]]] = {"analysts": [], "supervisors": []}
    for kind, model_name, count in (
        ("analysts", "alice", analysts),
        ("supervisors", "sam", supervisors),
    ):
        model = User.objects.get(username=model_name)
        for i in range(count):
            name = f"soak-{model_name}-{i:03d}"
            user = privacy_services.user_create(
                actor=None,
                username=name,
                password=DEMO_PASSWORD,
                agency=model.agency,
                unit=model.unit,
                roles=list(model.roles),
                first_name=model.first_name,
                last_name=f"{model.last_name} {i}",
                email=f"{name}@example.test",
            )
            for grant in RoleGrant.objects.filter(user=model, agreement__isnull=False):
                grant.pk = None
                grant.user = user
                grant.save()
            key = secrets.token_hex(20)
            TOTPDevice.objects.create(user=user, name="Soak", key=key, confirmed=True)
            accounts[kind].append({"username": name, "totp_key": key})
    admin = User.objects.get(username="adam")
    employer = Employer.objects.order_by("pk").first()
    _key, raw = apikey_issue(actor=admin, employer=employer, label="soak")
    out.write_text(
        json.dumps(
            {**accounts, "password": DEMO_PASSWORD, "api_key": raw, "tag": secrets.token_hex(3)}
        )
    )


class Soak:
    """The servers, the load and the checks after it."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="crosscheck-soak-"))
        self.redis = PrivateRedis(self.work)
        self.port = spare_port()
        self.host = f"https://127.0.0.1:{self.port}"
        base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/crosscheck")
        url = urlsplit(base)
        self.server = urlunsplit((url.scheme, url.netloc, "", "", ""))
        self.secrets = {
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
            "CROSSCHECK_DATA_KEYS": f"soak1:{base64.b64encode(secrets.token_bytes(32)).decode()}",
            "CROSSCHECK_BLIND_INDEX_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
            "CROSSCHECK_AUDIT_HMAC_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        }

    def env(self, settings: str = "production") -> dict[str, str]:
        return {
            **os.environ,
            **self.secrets,
            "DJANGO_SETTINGS_MODULE": f"config.settings.{settings}",
            "DATABASE_URL": f"{self.server}/{SOAK_DB}",
            "REDIS_URL": self.redis.url,
            "CROSSCHECK_VAR_DIR": str(self.work / "var"),
            "CROSSCHECK_AUDIT_CHECKPOINT_KEY_FILE": str(self.work / "checkpoint.pem"),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "CROSSCHECK_LOG_LEVEL": "WARNING",
            # A signed checkpoint every 30 s, so the verification after the soak checks some.
            "CROSSCHECK_AUDIT_CHECKPOINT_SECONDS": "30",
            "PYTHONUNBUFFERED": "1",
        }

    def _manage(self, *args: str, settings: str = "production") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env(settings),
            capture_output=True,
            text=True,
        )

    def prepare(self) -> None:
        self.redis.start()
        admin = psycopg2.connect(f"{self.server}/postgres")
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{SOAK_DB}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{SOAK_DB}"')
        admin.close()
        started = time.monotonic()
        analysts = max(1, round(self.args.users * 6 / 10))
        supervisors = max(1, round(self.args.users * 2 / 10))
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.soak",
                "setup",
                str(self.work / "soak.json"),
                str(analysts),
                str(supervisors),
                str(self.args.cases),
            ],
            cwd=ROOT,
            env=self.env("local"),
            check=True,
        )
        done = self._manage("collectstatic", "--noinput", "--verbosity", "0")
        if done.returncode:
            raise SystemExit(done.stderr)
        print(
            f"set-up: {self.args.cases:,} synthetic cases with their run and flagged cases, "
            f"{analysts} analysts, {supervisors} supervisors, an employer API key "
            f"({time.monotonic() - started:.0f}s)"
        )

    def _certificate(self) -> tuple[Path, Path]:
        """A self-signed certificate for 127.0.0.1: production settings redirect plain HTTP and
        mark cookies Secure, so gunicorn speaks TLS on loopback as the proxy in front would."""

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
            .sign(key, hashes.SHA256())
        )
        cert_file, key_file = self.work / "tls.crt", self.work / "tls.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cert_file, key_file

    def serve(self) -> tuple[subprocess.Popen[bytes], Celery]:
        cert, key = self._certificate()
        log = (self.work / "gunicorn.log").open("ab")
        web = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--config",
                "python:config.gunicorn",
                "--workers",
                "2",
                "--threads",
                "4",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--certfile",
                str(cert),
                "--keyfile",
                str(key),
            ],
            cwd=ROOT,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        celery = Celery(self.env(), self.work / "logs")
        celery.start()
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(  # nosec B310 # our own https://127.0.0.1 server
                    f"{self.host}/healthz",
                    timeout=3,
                    context=ssl._create_unverified_context(),  # nosec B323 # its throwaway self-signed certificate
                ) as r:
                    if json.loads(r.read()).get("status") == "ok":
                        return web, celery
            except Exception:
                pass
            time.sleep(1)
        raise SystemExit("gunicorn did not become healthy")

    def load(self) -> tuple[Path, list[str], str]:
        """Locust headless; a cross-reference run started half-way. The stats CSV and what
        the employers' systems had accepted."""
        seconds = int(self.args.minutes * 60)
        out = self.work / "submitted.json"
        result: list[str] = []

        def crossref() -> None:
            time.sleep(seconds / 2)
            done = self._manage("crossref", "run", "--user", "adam")
            result.append((done.stdout or done.stderr).strip().splitlines()[0])

        thread = threading.Thread(target=crossref, daemon=True)
        thread.start()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(ROOT / "bench" / "locustfile.py"),
                "--headless",
                "--users",
                str(self.args.users),
                "--spawn-rate",
                str(max(1, self.args.users // 10)),
                "--run-time",
                f"{seconds}s",
                "--host",
                self.host,
                "--csv",
                str(self.work / "soak"),
                "--only-summary",
                "--loglevel",
                "WARNING",
                "--stop-timeout",
                "10",
            ],
            cwd=ROOT,
            env={**os.environ, "SOAK_CONFIG": str(self.work / "soak.json"), "SOAK_OUT": str(out)},
            check=False,
            stdout=(self.work / "locust.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        thread.join(120)
        return self.work / "soak_stats.csv", json.loads(out.read_text()), (result or ["?"])[0]

    def close(self, procs: list) -> None:
        for proc in procs:
            proc.stop() if isinstance(proc, Celery) else _terminate(proc)
        self.redis.stop()
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)

            admin = psycopg2.connect(f"{self.server}/postgres")
            admin.autocommit = True
            with admin.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{SOAK_DB}" WITH (FORCE)')
            admin.close()


def _terminate(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def report(stats: Path) -> int:
    """Requests/s and p50/p95/p99 per kind from locust's CSV; returns the failures."""
    rows = list(csv.DictReader(stats.open()))
    print(
        f"{'kind':32} {'requests':>9} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6} {'errors':>7}"
    )
    errors = 0
    for row in rows:
        name = row["Name"] if row["Name"] != "Aggregated" else "all"
        failures = int(row["Failure Count"])
        errors += failures if name != "all" else 0
        print(
            f"{name:32} {int(row['Request Count']):>9,} {float(row['Requests/s']):>7.1f} "
            f"{row['50%']:>6} {row['95%']:>6} {row['99%']:>6} {failures:>7}"
        )
    print(f"errors: {errors} (goal 0); times in ms")
    return errors


def _after(soak: Soak, submitted: list[str]) -> int:
    """The chain verifies; every accepted submission is stored exactly once."""

    problems = 0
    done = soak._manage("audit_verify", "--json")
    summary = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}
    ok = done.returncode == 0 and summary.get("ok")
    problems += 0 if ok else 1
    print(
        f"audit chain: {'verified' if ok else 'BROKEN'} ({summary or done.stderr.strip()[-300:]})"
    )
    conn = psycopg2.connect(f"{soak.server}/{SOAK_DB}")
    with conn.cursor() as cur:
        cur.execute(
            "SELECT employer_case_id, count(*) FROM verification_verificationcase "
            "WHERE employer_case_id = ANY(%s) GROUP BY 1",
            [submitted],
        )
        stored = dict(cur.fetchall())
        cur.execute("SELECT status FROM crossref_run ORDER BY id DESC LIMIT 1")
        run = cur.fetchone()
    conn.close()
    missing = len(set(submitted) - set(stored))
    twice = sum(1 for n in stored.values() if n > 1)
    problems += missing + twice + (len(submitted) != len(set(submitted)))
    print(
        f"employer cases: {len(submitted):,} accepted, {len(stored):,} stored, {missing} missing, "
        f"{twice} stored twice; the mid-soak cross-reference run: {run[0] if run else 'none'}"
    )
    return problems


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "setup":
        _setup(Path(argv[1]), int(argv[2]), int(argv[3]), int(argv[4]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=int(os.environ.get("SOAK_USERS", 50)))
    parser.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", 5)))
    parser.add_argument("--cases", type=int, default=3000, help="synthetic cases of the set-up")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = parser.parse_args(argv)
    print(
        f"soak: {args.users} users for {args.minutes:g} minutes on loopback (gunicorn, production settings)"
    )
    print("(this machine is shared and noisy: the figures are indicative)")
    soak = Soak(args)
    procs: list = []
    try:
        soak.prepare()
        web, celery = soak.serve()
        procs = [web, celery]
        stats, submitted, run_line = soak.load()
        print(f"cross-reference run started half-way: {run_line}")
        # The run and the ingest finish under the workers before the counts are taken.
        time.sleep(5)
        errors = report(stats)
        problems = _after(soak, submitted)
    finally:
        soak.close(procs)
    return 1 if errors or problems else 0


if __name__ == "__main__":
    sys.exit(main())
