"""Who is calling: the user agent every AWS and Kubernetes request of ekslift carries.

Least privilege is proven per step (docs/iam/), so each request must say which step made
it. Steps run in notebook kernels, separate processes, so an in-process hook could not see
them; the runner instead exports ``EKSLIFT_STEP`` to each step's kernel and every client
built there appends ``ekslift-step/<step>`` to its user agent. CloudTrail records the user
agent too, so a real estate can audit the same thing the sandbox's tests check. Calls made
outside a step (the runner archiving, `ekslift runs verify`) carry no step.
"""

from __future__ import annotations

import os

from ekslift import __version__

STEP_ENV = "EKSLIFT_STEP"
STEP_PREFIX = "ekslift-step/"


def user_agent_extra() -> str:
    """``ekslift/<version>`` and, inside a step, ``ekslift-step/<step>``."""
    step = os.environ.get(STEP_ENV, "").strip()
    base = f"ekslift/{__version__}"
    return f"{base} {STEP_PREFIX}{step}" if step else base
