"""Bulk case import: three ways in (portal upload, `manage.py import_cases`, `POST /api/v1/cases/batch`),
one path.

- `staging`: the file is read once, streamed into sealed chunks in PostgreSQL (an `ImportJob`
  and its `ImportChunk` rows), and a background job is queued.
- `checks`: every row is checked by the single submission's rules (`services.cleaning`,
  `services.submit.business_checks`), with the database questions asked once per chunk.
- `writing`: a chunk's good rows become cases in one transaction: workers upserted and locked in
  one statement, the instant match set-based (`instant.BulkLookup`), cases and comparisons
  written with COPY.
- `jobs`: validate everything first (the line-numbered report), refuse or import per the chosen
  mode, chunk by chunk, resumable, never twice (an idempotency key per row).
"""
