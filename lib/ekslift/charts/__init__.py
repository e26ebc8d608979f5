"""Helm charts and releases: the helm binary wrapper, release records, repositories, diffs.

Everything Helm goes through the real helm binary (`ekslift.charts.helm`) so rendering,
dependency resolution and kubeVersion checks behave exactly as they do for operators.
"""
