"""Sample data, not the service: the demo world (`python -m service seed-demo`,
`make run`) and synthetic data at the programme's scale for the benchmarks
(`python -m service generate`).

It builds its worlds with the service's own functions and models; nothing in the
service imports it but the composition root (service/__main__.py)."""
