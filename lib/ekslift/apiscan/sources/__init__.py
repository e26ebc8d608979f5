"""The API scan's sources: files, chart renders and kustomizations, Argo CD Applications,
Helm release records, live objects and EKS Upgrade Insights.

Each module exposes one function returning the contract's
:class:`~ekslift.apiscan.contract.SourceResult`; :mod:`.builtin` adapts them to scan
requests and registers them, so callers look sources up by name and never import one.
"""
