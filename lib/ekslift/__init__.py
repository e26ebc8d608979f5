"""ekslift: a Jupyter runbook that keeps an Amazon EKS platform continuously upgraded."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ekslift")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
