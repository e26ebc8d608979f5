"""Step 2, the API scan: which objects use APIs deprecated or removed by the target version.

``facts`` holds the API facts (data in ``data/apis.yaml``), ``findings`` the records every
source returns and the merged report, ``manifests`` the fast file scanner, ``report`` and
``fix`` the renderers and fix help, ``cli`` the ``ekslift scan`` command.
"""
