"""What an operator watches: Prometheus metrics at GET /metrics and one structured
log line per request, both carrying a request id (docs/operations.md).

Not the housing department's service-quality indicators (service/metrics): these
are the service's own health, for whoever runs it.

- context.py      the request id (X-Request-ID) as a context variable
- logs.py         logging set-up: JSON or text lines that name the request id
- instruments.py  the counters and histograms, counted where things happen
- asgi.py         the pure ASGI middleware that times, labels and logs each request
- scrape.py       what is read from the database when Prometheus scrapes
- router.py       GET /metrics
"""
