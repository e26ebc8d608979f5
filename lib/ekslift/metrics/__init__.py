"""Metrics: the backends the traffic gates read and the judge that decides on them.

Backends answer the same questions (requests, errors, latency of blue and green) from
CloudWatch or from Prometheus, so the runbook works where either is the estate's source of
truth. The judge compares green with blue step by step: ``series`` (what it reads),
``rates`` and ``latency`` (the statistics), ``limits`` (absolute limits), ``judge``
(verdicts), ``soak`` (how long each step must soak), ``policy`` (the settings).
"""
