"""Bulk case import: three ways in (portal upload, `manage.py import_cases`, `POST /api/v1/cases/batch`),
one path.

- `staging`: the file is read once, streamed into sealed chunks in PostgreSQL (an `ImportJob`
  and its `ImportChunk` rows), and a background job is queued.
- `checks`: every row is checked by the single submission's rules (`services.cleaning`,
  `services.submit.business_checks`), with the database questions asked once per chunk.
- `writing`: the instant match set-based (`instant.BulkLookup`), identifiers sealed and COPY lines
  built with no lock (`prepare_cases`); then, under the employer's import lock with the chunk's
  workers upserted and row-locked in one statement (`PeopleLock`), the good rows' cases and
  comparisons written with COPY in one transaction (`write_cases`).
- `jobs`: validate everything first (the line-numbered report), refuse or import per the chosen
  mode, chunk by chunk, resumable, never twice (an idempotency key per row).
"""
