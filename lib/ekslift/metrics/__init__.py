"""Metrics backends the traffic gates read: the same questions (request rate, error rate,
latency percentiles of blue and green) answered from CloudWatch or from Prometheus, so the
runbook works where either is the estate's source of truth."""
