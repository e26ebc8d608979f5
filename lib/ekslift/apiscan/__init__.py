"""Step 2, the API scan: which objects use APIs deprecated or removed by the target version.

Read: ``sources/`` (files, chart renders, Argo CD, Helm releases, live objects, Upgrade
Insights) behind the plug-in contract in ``contract``, with the facts (``facts``, data in
``data/apis.yaml``), the fast file scanner (``manifests``) and the estate scan
(``estate``); judge: ``sightings`` merges what the sources saw into one row per object,
``judge`` turns rows into gate findings; present: ``present`` (notebook tables, plot,
artefacts), ``formats`` (text, JSON, CSV, markdown, SARIF) and ``fix``; ``cli`` is
``ekslift scan``.
"""

STEP = "02-api-scan"
