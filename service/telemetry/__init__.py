"""What every floor may report to operators without knowing who reads it: the
Prometheus counters and histograms (instruments.py), the request id carried
through requests, jobs and deliveries (context.py), and the JSON log format
(logs.py). The rooms that read them — the scrape, the request middleware, the
event listener — are service/observability/, at the top of the house."""
