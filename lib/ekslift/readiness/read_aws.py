"""Readiness' AWS reads: load balancers and their forward actions, target health, subnets,
quotas, IAM trust, Pod Identity, access entries, database security groups, NAT egress.

Every function takes a client and returns data; a refused or failed call raises
`AwsError` naming the operation, and the orchestrator (`check`) turns that into a finding
or into "unreachable". Nothing here writes.
"""

from __future__ import annotations

import ipaddress
import json
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ekslift.errors import AwsError
from ekslift.readiness.models import (
    EksCluster,
    ForwardAction,
    GuardedGroup,
    LoadBalancer,
    PodIdentityAssociation,
    Role,
    Subnet,
    TargetHealth,
)

EC2_VCPU_QUOTA = ("ec2", "L-1216C47A")
"""Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances, in vCPUs."""
TAGS_PER_CALL = 20


def call(what: str, method: Callable[..., Any], **kwargs: Any) -> Any:
    """One AWS call; its failure becomes an `AwsError` that names `what`."""
    try:
        return method(**kwargs)
    except (ClientError, BotoCoreError) as exc:
        raise AwsError.wrap(exc, what) from exc


def _marker_pages(
    what: str, method: Callable[..., Any], key: str, **kwargs: Any
) -> Iterator[dict[str, Any]]:
    """ELBv2 lists page with Marker/NextMarker."""
    marker: str | None = None
    while True:
        page = call(what, method, **kwargs, **({"Marker": marker} if marker else {}))
        yield from page.get(key, [])
        marker = page.get("NextMarker")
        if not marker:
            return


def read_eks_cluster(eks: Any, name: str) -> EksCluster:
    cluster = call(f"DescribeCluster {name}", eks.describe_cluster, name=name)["cluster"]
    vpc = cluster.get("resourcesVpcConfig") or {}
    groups = list(vpc.get("securityGroupIds") or [])
    if vpc.get("clusterSecurityGroupId"):
        groups.append(vpc["clusterSecurityGroupId"])
    return EksCluster(
        name=name,
        issuer=((cluster.get("identity") or {}).get("oidc") or {}).get("issuer", ""),
        subnet_ids=tuple(vpc.get("subnetIds") or ()),
        security_group_ids=tuple(groups),
    )


def _tags(elbv2: Any, arns: list[str]) -> dict[str, dict[str, str]]:
    tags: dict[str, dict[str, str]] = {}
    for start in range(0, len(arns), TAGS_PER_CALL):
        chunk = arns[start : start + TAGS_PER_CALL]
        answer = call("DescribeTags", elbv2.describe_tags, ResourceArns=chunk)
        for description in answer.get("TagDescriptions", []):
            tags[description["ResourceArn"]] = {
                t["Key"]: t.get("Value", "") for t in description.get("Tags", [])
            }
    return tags


def _forward_of(action: dict[str, Any]) -> tuple[dict[str, int], int | None] | None:
    """The weights and stickiness of a forward action, whichever form it is written in."""
    if action.get("Type") != "forward":
        return None
    config = action.get("ForwardConfig")
    if config:
        weights = {g["TargetGroupArn"]: int(g.get("Weight", 1)) for g in config["TargetGroups"]}
        sticky = config.get("TargetGroupStickinessConfig") or {}
        seconds = int(sticky.get("DurationSeconds", 0)) if sticky.get("Enabled") else None
        return weights, seconds
    return {action["TargetGroupArn"]: 1}, None


def _conditions(rule: dict[str, Any]) -> str:
    if rule.get("IsDefault"):
        return "default action"
    parts = []
    for condition in rule.get("Conditions", []):
        values: list[str] = condition.get("Values") or next(
            (v.get("Values", []) for k, v in condition.items() if k.endswith("Config")), []
        )
        parts.append(f"{condition.get('Field')}={','.join(values)}")
    return f"priority {rule.get('Priority')}: " + "; ".join(parts)


def read_forward_actions(
    elbv2: Any, target_groups: set[str]
) -> tuple[list[ForwardAction], dict[str, LoadBalancer]]:
    """Every forward action in the region that names one of `target_groups`, on every load
    balancer and listener (another listener, a host rule, an internal ALB), with the tags
    of the rule or listener that holds it, and the load balancers they belong to."""
    found: list[tuple[str, str, dict[str, Any]]] = []
    balancers: dict[str, dict[str, Any]] = {}
    for lb in _marker_pages(
        "DescribeLoadBalancers", elbv2.describe_load_balancers, "LoadBalancers"
    ):
        if lb.get("Type", "application") != "application":
            continue
        for listener in _marker_pages(
            f"DescribeListeners {lb['LoadBalancerName']}",
            elbv2.describe_listeners,
            "Listeners",
            LoadBalancerArn=lb["LoadBalancerArn"],
        ):
            for rule in _marker_pages(
                f"DescribeRules {listener['ListenerArn']}",
                elbv2.describe_rules,
                "Rules",
                ListenerArn=listener["ListenerArn"],
            ):
                for action in rule.get("Actions", []):
                    forward = _forward_of(action)
                    if forward and target_groups & set(forward[0]):
                        balancers[lb["LoadBalancerArn"]] = lb
                        found.append((lb["LoadBalancerArn"], listener["ListenerArn"], rule))
    owners = sorted(
        {listener for _, listener, _ in found}
        | {rule["RuleArn"] for _, _, rule in found if not rule.get("IsDefault")}
        | set(balancers)
    )
    tags = _tags(elbv2, owners)
    actions = []
    for lb_arn, listener_arn, rule in found:
        rule_arn = None if rule.get("IsDefault") else rule["RuleArn"]
        for action in rule.get("Actions", []):
            forward = _forward_of(action)
            if forward and target_groups & set(forward[0]):
                actions.append(
                    ForwardAction(
                        load_balancer_arn=lb_arn,
                        listener_arn=listener_arn,
                        rule_arn=rule_arn,
                        conditions=_conditions(rule),
                        weights=forward[0],
                        stickiness_seconds=forward[1],
                        tags=tags.get(rule_arn or listener_arn, {}),
                    )
                )
    return actions, {
        arn: LoadBalancer(
            arn=arn,
            name=lb["LoadBalancerName"],
            zones=tuple(sorted(z["ZoneName"] for z in lb.get("AvailabilityZones", []))),
            tags=tags.get(arn, {}),
        )
        for arn, lb in balancers.items()
    }


def read_target_health(elbv2: Any, target_group: str, subnets: list[Subnet]) -> list[TargetHealth]:
    """Targets and their state; an IP target's zone is its subnet's when AWS does not say."""
    networks = [(ipaddress.ip_network(s.cidr), s.zone) for s in subnets]
    answer = call(
        f"DescribeTargetHealth {target_group}",
        elbv2.describe_target_health,
        TargetGroupArn=target_group,
    )
    rows = []
    for description in answer.get("TargetHealthDescriptions", []):
        target = description["Target"]
        zone = target.get("AvailabilityZone") or _zone_of(target["Id"], networks)
        state = (description.get("TargetHealth") or {}).get("State", "unknown")
        rows.append(TargetHealth(target["Id"], zone, state))
    return rows


def _zone_of(target: str, networks: list[tuple[Any, str]]) -> str:
    try:
        address = ipaddress.ip_address(target)
    except ValueError:
        return "unknown"
    return next((zone for net, zone in networks if address in net), "unknown")


def read_subnets(ec2: Any, ids: list[str]) -> list[Subnet]:
    if not ids:
        return []
    answer = call("DescribeSubnets", ec2.describe_subnets, SubnetIds=ids)
    return [
        Subnet(s["SubnetId"], s["AvailabilityZone"], s["CidrBlock"], s["AvailableIpAddressCount"])
        for s in answer["Subnets"]
    ]


def read_vcpu_quota(quotas: Any) -> float:
    service, code = EC2_VCPU_QUOTA
    answer = call(
        f"GetServiceQuota {service} {code}",
        quotas.get_service_quota,
        ServiceCode=service,
        QuotaCode=code,
    )
    return float(answer["Quota"]["Value"])


def read_targets_limit(elbv2: Any) -> int | None:
    limits = _marker_pages("DescribeAccountLimits", elbv2.describe_account_limits, "Limits")
    return next(
        (int(x["Max"]) for x in limits if x["Name"] == "targets-per-application-load-balancer"),
        None,
    )


def read_oidc_providers(iam: Any) -> set[str]:
    answer = call("ListOpenIDConnectProviders", iam.list_open_id_connect_providers)
    return {p["Arn"] for p in answer.get("OpenIDConnectProviderList", [])}


def _document(value: Any) -> dict[str, Any]:
    """IAM returns policy documents URL-encoded (or already decoded by botocore)."""
    if isinstance(value, dict):
        return value
    return json.loads(urllib.parse.unquote(value))


def read_role(iam: Any, role_arn: str) -> Role | None:
    """A role's trust policy and every policy attached to it; None if it does not exist."""
    name = role_arn.rsplit("/", 1)[-1]
    try:
        role = iam.get_role(RoleName=name)["Role"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchEntity":
            return None
        raise AwsError.wrap(exc, f"GetRole {name}") from exc
    except BotoCoreError as exc:
        raise AwsError.wrap(exc, f"GetRole {name}") from exc
    trust = _document(role["AssumeRolePolicyDocument"])
    policies = []
    inline = call(f"ListRolePolicies {name}", iam.list_role_policies, RoleName=name)
    for policy_name in inline.get("PolicyNames", []):
        doc = call(
            f"GetRolePolicy {name}/{policy_name}",
            iam.get_role_policy,
            RoleName=name,
            PolicyName=policy_name,
        )
        policies.append(_document(doc["PolicyDocument"]))
    attached = call(
        f"ListAttachedRolePolicies {name}", iam.list_attached_role_policies, RoleName=name
    )
    for policy in attached.get("AttachedPolicies", []):
        meta = call(
            f"GetPolicy {policy['PolicyArn']}", iam.get_policy, PolicyArn=policy["PolicyArn"]
        )
        version = call(
            f"GetPolicyVersion {policy['PolicyArn']}",
            iam.get_policy_version,
            PolicyArn=policy["PolicyArn"],
            VersionId=meta["Policy"]["DefaultVersionId"],
        )
        policies.append(_document(version["PolicyVersion"]["Document"]))
    return Role(
        name=name,
        arn=role["Arn"],
        trust_policy=trust,
        # IAM counts the document without whitespace against the size limit.
        trust_policy_size=len(json.dumps(trust, separators=(",", ":"))),
        policies=tuple(policies),
    )


def _token_pages(what: str, method: Callable[..., Any], key: str, **kwargs: Any) -> Iterator[Any]:
    """EKS lists page with nextToken."""
    token: str | None = None
    while True:
        page = call(what, method, **kwargs, **({"nextToken": token} if token else {}))
        yield from page.get(key, [])
        token = page.get("nextToken")
        if not token:
            return


def read_pod_identity(eks: Any, cluster: str) -> list[PodIdentityAssociation]:
    rows = []
    for summary in _token_pages(
        f"ListPodIdentityAssociations {cluster}",
        eks.list_pod_identity_associations,
        "associations",
        clusterName=cluster,
    ):
        detail = call(
            f"DescribePodIdentityAssociation {cluster} {summary['associationId']}",
            eks.describe_pod_identity_association,
            clusterName=cluster,
            associationId=summary["associationId"],
        )["association"]
        rows.append(
            PodIdentityAssociation(detail["namespace"], detail["serviceAccount"], detail["roleArn"])
        )
    return rows


def read_access_entries(eks: Any, cluster: str) -> list[str]:
    return list(
        _token_pages(
            f"ListAccessEntries {cluster}",
            eks.list_access_entries,
            "accessEntries",
            clusterName=cluster,
        )
    )


def read_guarded_groups(
    ec2: Any, rds: Any, elasticache: Any, named: list[str]
) -> list[GuardedGroup]:
    """Security groups of RDS instances, ElastiCache clusters and those the params name,
    with the security groups each admits."""
    guards: dict[str, str] = {sg: "named in the parameters" for sg in named}
    paginator = rds.get_paginator("describe_db_instances")
    try:
        for page in paginator.paginate():
            for db in page.get("DBInstances", []):
                for sg in db.get("VpcSecurityGroups", []):
                    guards.setdefault(sg["VpcSecurityGroupId"], f"RDS {db['DBInstanceIdentifier']}")
    except (ClientError, BotoCoreError) as exc:
        raise AwsError.wrap(exc, "DescribeDBInstances") from exc
    paginator = elasticache.get_paginator("describe_cache_clusters")
    try:
        for page in paginator.paginate():
            for cache in page.get("CacheClusters", []):
                for sg in cache.get("SecurityGroups") or []:
                    guards.setdefault(
                        sg["SecurityGroupId"], f"ElastiCache {cache['CacheClusterId']}"
                    )
    except (ClientError, BotoCoreError) as exc:
        raise AwsError.wrap(exc, "DescribeCacheClusters") from exc
    if not guards:
        return []
    answer = call("DescribeSecurityGroups", ec2.describe_security_groups, GroupIds=sorted(guards))
    return [
        GuardedGroup(
            id=group["GroupId"],
            name=group.get("GroupName", ""),
            guards=guards[group["GroupId"]],
            sources=frozenset(
                pair["GroupId"]
                for permission in group.get("IpPermissions", [])
                for pair in permission.get("UserIdGroupPairs", [])
            ),
        )
        for group in answer["SecurityGroups"]
    ]


def read_nat_ips(ec2: Any, subnet_ids: list[str]) -> set[str]:
    """Public IPs of the NAT gateways the subnets' route tables send the internet to (the
    VPC's main route table for a subnet with no association of its own)."""
    if not subnet_ids:
        return set()
    tables = call(
        "DescribeRouteTables",
        ec2.describe_route_tables,
        Filters=[{"Name": "association.subnet-id", "Values": subnet_ids}],
    )["RouteTables"]
    associated = {
        a["SubnetId"] for t in tables for a in t.get("Associations", []) if a.get("SubnetId")
    }
    if set(subnet_ids) - associated:
        vpcs = call("DescribeSubnets", ec2.describe_subnets, SubnetIds=subnet_ids)["Subnets"]
        tables += call(
            "DescribeRouteTables",
            ec2.describe_route_tables,
            Filters=[
                {"Name": "association.main", "Values": ["true"]},
                {"Name": "vpc-id", "Values": sorted({s["VpcId"] for s in vpcs})},
            ],
        )["RouteTables"]
    gateways = sorted(
        {r["NatGatewayId"] for t in tables for r in t.get("Routes", []) if r.get("NatGatewayId")}
    )
    if not gateways:
        return set()
    answer = call("DescribeNatGateways", ec2.describe_nat_gateways, NatGatewayIds=gateways)
    return {
        address["PublicIp"]
        for gateway in answer.get("NatGateways", [])
        for address in gateway.get("NatGatewayAddresses", [])
        if address.get("PublicIp")
    }
