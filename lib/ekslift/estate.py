"""The estate's vocabulary: which cluster sits in which region, in which role.

Every step speaks of "green of us-east-1" or "the management cluster", and finds a cluster
by the names others use for it (its EKS name in AWS answers, its kubeconfig context, the
name an Argo CD destination gives). One type, built from the parameters in one place, so
that step 1's tables, step 2's gate and the later steps agree on who is who.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ekslift.params import UpgradeParams

Role = Literal["blue", "green", "in-place", "management"]
"""`in-place` is the one cluster of a region upgraded where it stands (see
`params.RegionParams`); it is judged as the cluster that will run the target."""


@dataclass(frozen=True)
class EstateCluster:
    """One cluster of the upgrade: its region, role, EKS name and kubeconfig context.

    ``region`` is None for the management cluster (Argo CD), which the parameters name by
    context only.
    """

    region: str | None
    role: Role
    cluster: str
    context: str


def estate_clusters(params: UpgradeParams) -> list[EstateCluster]:
    """The blue and green cluster of every region (or its one in-place cluster), in the
    parameters' order."""
    return [
        EstateCluster(region.name, role, ref.eks_cluster, ref.kube_context)
        for region in params.regions
        for role, ref in region.clusters().items()
    ]


def cluster_index(params: UpgradeParams) -> dict[str, EstateCluster]:
    """Every estate cluster under each name it goes by: EKS name and kubeconfig context."""
    index: dict[str, EstateCluster] = {}
    for cluster in estate_clusters(params):
        index[cluster.cluster] = index[cluster.context] = cluster
    return index
