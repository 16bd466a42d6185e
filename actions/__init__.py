"""Rasa custom actions of Cloud Doctor, grouped by feature. Actions stay thin:
they read the tracker, call a domain service (`grids`, later `tickets`), and pick
a reply. Importing this package does no I/O (rasa-sdk imports every module)."""
