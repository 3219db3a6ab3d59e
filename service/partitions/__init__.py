"""Monthly partitions of the timeline and the outboxes, and their retention.

On PostgreSQL `ticket_event`, `webhook_delivery`, `webhook_attempt`,
`notification_delivery` and `notification_attempt` are partitioned by range of
their creation instant, one partition a month (migration c8bc1cf13f38), with a
DEFAULT partition as a safety net. The job `partitions.months` (jobs.py) makes
each month's partitions MONTHS_AHEAD months before they are needed (months.py)
and drops whole months past their retention (retention.py), never one that a
reader has not finished with. SQLite keeps plain tables; the same job deletes
their old rows in batches.

Why not pg_partman: it would make the partitions ahead and drop old ones, which
is a page of code here, and it needs CREATE EXTENSION (which managed PostgreSQL
services do not always grant) and a package on every server; and it cannot
know the readers (the feed's window, the webhooks and messages still pending,
the metrics rollup) that decide what may go.
"""
