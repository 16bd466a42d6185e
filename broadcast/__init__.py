"""The broadcaster: staff notices fanned out to every grid group (or a street,
community or grid), paced to each platform's limits, with per-group delivery
status, from an outbox in the database (nothing lost, nothing doubled except what
was in flight when a dispatcher died). Free of web frameworks; recipients come
from the grid directory's public API.

model (domain) · targets (directory → groups) · formatting (split, number) ·
pacing (GCRA budgets) · outbox (notices, deliveries, claims) · senders (platform
clients) · dispatcher (the send loop) · scheduler (APScheduler jobs) · service
(what staff do) · webfeed (notices of the web rooms) · runtime (a process's wiring).
"""
