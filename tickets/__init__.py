"""Tickets (工单) of the union's back office: what the front desk could not settle, routed
to the grid coordinator and the union departments, with working-time deadlines on
China's calendar (`tickets.workhours`, `tickets.holidays`), lights, reminders and
escalation (`tickets.service`), and the outbox of messages to people (`tickets.notifier`).
No web framework, no Rasa."""
