"""Can green reach what blue reaches, and do the outside world's allowlists know green?

A database's security group that admits blue's cluster or node security group but not
green's times out on green only for the requests that touch the database. Green's NAT
egress addresses that blue does not use are refused by partners who allowlist blue's.
"""

from __future__ import annotations

from ekslift.readiness.models import RegionFacts
from ekslift.readiness.rows import CheckRow


def judge(facts: RegionFacts) -> list[CheckRow]:
    blue, green = facts.clusters.get("blue"), facts.clusters.get("green")
    if blue is None or green is None:
        return []
    rows: list[CheckRow] = []
    blue_groups, green_groups = set(blue.security_group_ids), set(green.security_group_ids)
    for group in facts.guarded_groups or []:
        admits_blue = group.sources & blue_groups
        if not admits_blue:
            continue
        admits_green = group.sources & green_groups
        rows.append(
            CheckRow(
                facts.region,
                "network",
                "database-sg",
                group.id,
                "ok" if admits_green else "fail",
                f"{group.name} ({group.guards}) admits "
                + (
                    "blue and green"
                    if admits_green
                    else f"blue's {', '.join(sorted(admits_blue))} only"
                ),
                expected="green's cluster/node security group admitted too",
                action=f"in the infrastructure code, add to {group.id} the ingress rules it has "
                f"for {', '.join(sorted(admits_blue))} with source "
                f"{', '.join(sorted(green_groups)) or 'green’s security group'}",
                role="green",
            )
        )
    if facts.nat_ips is not None:
        new = sorted(facts.nat_ips.get("green", set()) - facts.nat_ips.get("blue", set()))
        rows.append(
            CheckRow(
                facts.region,
                "network",
                "nat-egress",
                green.name,
                "warn" if new else "ok",
                f"green leaves through {', '.join(new)}, which blue does not use"
                if new
                else "green leaves through blue's NAT addresses",
                expected="partners' allowlists include green's egress addresses",
                action=f"ask partners that allowlist blue's egress to add {', '.join(new)} "
                "before the first shift",
                role="green",
            )
        )
    return rows
