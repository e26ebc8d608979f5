"""The embedded sandbox: a fake-but-faithful estate reached only through standard endpoints.

The library never imports this package; it reaches the sandbox through ``AWS_ENDPOINT_URL``
and a kubeconfig exactly as it reaches a real estate, so sandbox runs exercise the same code.
"""
