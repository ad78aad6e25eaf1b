"""Signed webhooks for employers' systems (issue 20 §3, M27).

- `outbox`: the lifecycle services call it inside their transaction; it writes the events and
  their deliveries, and queues the sending after commit.
- `delivery`: one attempt of one delivery (claim, sign, send, record), retries with exponential
  backoff and jitter inside the retry window, then a dead letter; the sweep of due deliveries.
- `network`: outbound requests that cannot be turned on our own network (every resolved address
  checked, the checked address connected to; timeouts, a size cap, no redirects).
- `signing`: the secrets (encrypted at rest, shown once, rotated with an overlap) and the
  `Crosscheck-Signature` header.
- `services`, `selectors`, `api`, `views`, `forms`, `tasks`: as in every app (STYLE.md).

Imports inside the package point down: api/views -> services/selectors -> delivery/outbox ->
network/signing -> models; nothing here imports `verification.services`.
"""
