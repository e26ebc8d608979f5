"""Step 3, chart diff: which chart version each deployment should run on the target, proven
by rendering it, and what the bump changes.

Read: ``deployments`` (Argo CD Applications and ApplicationSets through ``ekslift.argocd``,
helm releases through ``ekslift.charts.releases``; values in memory only), ``repos``
(HTTP ``index.yaml`` with a conditional-request cache, OCI tags through the registry API
and archives through helm), ``renovate`` (the estate's ``renovate.json``); judge:
``versions`` (semver order and constraints), ``controllers`` (the compatibility table in
``data/controllers.yaml``), ``render`` (step 2's render + scan, per cluster version),
``choose`` (the proposal for each deployment), ``diff`` (values, schema, objects, declared
changes), ``judge`` (gate findings), orchestrated by ``estate``; present: ``present``
(tables, plot, artefacts), ``renovate`` (the ``packageRules`` fragment); ``cli`` is
``ekslift charts``.
"""

STEP = "03-chart-diff"
