"""IRSA roles of the controllers the platform relies on: the AWS Load Balancer Controller and the Cluster Autoscaler.

Their actions come from each project's published policy, trimmed to this platform (data/controller_policies.json
says what was kept, what was dropped and why); the resources are scoped here:

- the load balancer controller registers and deregisters targets in the API's one target group and nothing else
  (TargetGroupBinding mode: Terraform owns the load balancer, its listener and the security group rules);
- the Cluster Autoscaler changes the desired size only of Auto Scaling groups tagged as this cluster's (EKS tags
  its managed node groups' groups so), and describes only this cluster's node groups.

Why the Cluster Autoscaler and not Karpenter: the data table's why_not_karpenter. The roles are built like the
workloads' (identity.role_with_policy): one trust per service account, one inline policy.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from tmsc.ir import Block, Ref, Template
from tmsc.services.cluster import cluster_name
from tmsc.services.context import Context, arn
from tmsc.services.identity import role_with_policy

LOAD_BALANCER_CONTROLLER = ("kube-system", "aws-load-balancer-controller")  # namespace, service account
CLUSTER_AUTOSCALER = ("kube-system", "cluster-autoscaler")
LOAD_BALANCER_CONTROLLER_ROLE = "irsa_load_balancer_controller"
CLUSTER_AUTOSCALER_ROLE = "irsa_cluster_autoscaler"


@functools.cache
def controller_policies() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (Path(__file__).parent.parent / "data" / "controller_policies.json").read_text(encoding="utf-8")
    )
    return data


def load_balancer_controller_role_arn() -> Ref:
    return Ref(f"aws_iam_role.{LOAD_BALANCER_CONTROLLER_ROLE}", "arn")


def cluster_autoscaler_role_arn() -> Ref:
    return Ref(f"aws_iam_role.{CLUSTER_AUTOSCALER_ROLE}", "arn")


def resourceless_actions() -> dict[str, str]:
    """Actions AWS authorizes on no resource, each with why: the only ones a controller role gets on "*"."""
    return {k: v for k, v in controller_policies()["resourceless"].items() if k != "//"}


def describe(ctx: Context, actions: list[str]) -> dict[str, Any]:
    """Describe calls authorize on no resource: "*", kept to the platform's region."""
    unknown = [a for a in actions if a not in resourceless_actions()]
    assert not unknown, f"{unknown} are not documented as resourceless in data/controller_policies.json"
    return {
        "Sid": "Describe",
        "Effect": "Allow",
        "Action": actions,
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:RequestedRegion": ctx.region}},
    }


def load_balancer_controller_statements(ctx: Context) -> list[dict[str, Any]]:
    table = controller_policies()["aws_load_balancer_controller"]
    api, _ = ctx.platform.service_of_kind("api")
    return [
        describe(ctx, table["describe"]),
        {
            "Sid": "RegisterApiPods",
            "Effect": "Allow",
            "Action": table["register"],
            "Resource": Ref(f"aws_lb_target_group.{api}", "arn"),
        },
    ]


def cluster_autoscaler_statements(ctx: Context) -> list[dict[str, Any]]:
    table = controller_policies()["cluster_autoscaler"]
    cluster = ctx.name(cluster_name(ctx.platform))
    return [
        describe(ctx, table["describe"]),
        {
            # Auto Scaling group ARNs carry an id AWS assigns: any group of the account and region, narrowed to
            # this cluster's by the tag EKS puts on its managed node groups' groups.
            "Sid": "ScaleThisClustersNodeGroups",
            "Effect": "Allow",
            "Action": table["scale"],
            "Resource": arn("autoscaling", ctx.region, Template(("autoScalingGroup:*:autoScalingGroupName/*",))),
            "Condition": {"StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster}": "owned"}},
        },
        {
            "Sid": "DescribeThisClustersNodeGroups",
            "Effect": "Allow",
            "Action": table["node_groups"],
            "Resource": arn("eks", ctx.region, Template((f"nodegroup/{cluster}/*",))),
        },
    ]


def emit_controllers(ctx: Context) -> tuple[Block, ...]:
    blocks: list[Block] = []
    namespace, account = LOAD_BALANCER_CONTROLLER
    blocks += role_with_policy(
        ctx,
        LOAD_BALANCER_CONTROLLER_ROLE,
        "load-balancer-controller",
        namespace,
        account,
        load_balancer_controller_statements(ctx),
    )
    namespace, account = CLUSTER_AUTOSCALER
    blocks += role_with_policy(
        ctx, CLUSTER_AUTOSCALER_ROLE, "cluster-autoscaler", namespace, account, cluster_autoscaler_statements(ctx)
    )
    return tuple(blocks)
