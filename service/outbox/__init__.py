"""Outboxes: rows written in the transaction of what they announce, delivered
later over HTTP by the job runner, at least once, with leases, backoff and a log
of every attempt. Webhooks (service/webhooks) and notifications to residents
(service/notifications) are two queues on this one machinery: each declares its
tables, what a claim loads and how one attempt is made (`Queue`), and
`outbox.delivery` does the rest.
"""
