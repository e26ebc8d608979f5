"""Cutover readiness: can green take the traffic, can blue take it back, is only one thing
changing? Built on step 1 (its section and findings are part of notebook 01's gate) and
re-run by step 4 before every weight change.

Read: ``read_aws`` (load balancers, forward actions, target health, subnets, quotas, IAM,
Pod Identity, access entries, security groups, NAT) and ``read_kube`` (bindings, workloads,
autoscalers, CronJobs, nodes, NodePools, ServiceAccounts, sync windows) into ``models``;
judge: ``capacity``, ``traffic`` (weights' owner, wiring), ``change`` (one change at a
time), ``identity``, ``network``, ``classify`` and ``plans`` (workloads that do not follow
ALB weights), orchestrated by ``check`` into a ``report``; present: ``present``.

``check(params, region, share)`` is what step 4 calls before each weight change,
``verify_plans(params, region, share)`` after it; ``check_estate(params)`` is step 1's.
"""

from ekslift.readiness.check import check, check_estate, verify_plans
from ekslift.readiness.rows import EstateReadiness, ReadinessReport

__all__ = ["EstateReadiness", "ReadinessReport", "check", "check_estate", "verify_plans"]
