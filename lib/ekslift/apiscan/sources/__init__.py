"""Scan sources beyond plain files: chart renders, Argo CD Applications, Helm releases,
live objects and EKS Upgrade Insights.

Each module exposes one function returning the core's :class:`~ekslift.apiscan.cli.
SourceResult` (findings, problems, counters), so the CLI and the estate scan combine them
the same way they combine the file scanner's results.
"""
