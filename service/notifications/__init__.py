"""Notifications to residents (and to the people filed for), and alerts to staff
and to elders' families: an in-app inbox for everyone, and WeChat subscribe
messages and SMS where configured, fed by an outbox written in the transaction
of the ticket's event (compose.py; alerts.py for events that name audiences),
delivered by the outbox machinery (service/outbox) through the channels
(channels.py)."""
