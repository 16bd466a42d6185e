"""Statistics (统计) of Cloud Doctor: what was asked and how it went, from Rasa's
event broker; tickets' and broadcasts' figures from their own packages' `stats`.

- `insight.ingest`: tails an `events`-shaped table (Rasa's SQL event broker, or
  `in_broker_events` written by `insight.consumer` from RabbitMQ) by id into the
  fact table `in_turns` (one row per user message), idempotently;
- `insight.runner.run(engine, stop, …)`: the loop the staff process runs;
- `insight.service.Statistics`: every figure for a `Period` and a `Scope`, as
  `insight.model.Table`s (`insight.export.csv_bytes` → CSV for Excel) and
  `insight.charts` (SVG, pure functions);
- `insight.queue`: the unanswered queue (fallbacks, hand-offs, tickets).

No web framework, no Rasa: the events are read as the JSON Rasa writes.
"""
