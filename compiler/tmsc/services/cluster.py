"""EKS: the cluster in the private subnets, a managed node group per AZ, add-ons, and the OIDC provider for IRSA.

Access is through EKS access entries (authentication_mode API): no aws-auth
ConfigMap. Kubernetes secrets are envelope-encrypted with a CMK, all five
control-plane log types go to a KMS-encrypted log group.
"""

from __future__ import annotations

from typing import Any

from tmsc.ir import Block, JsonDocument, Ref, Resource, Template
from tmsc.model import EksCluster, Platform
from tmsc.services.context import ACCOUNT_ID, PARTITION, Context, join, policy, service_role
from tmsc.services.keys import encrypted_log_group, environment_key
from tmsc.services.network import subnet_ids
from tmsc.services.permissions import (
    ApplyScope,
    CiPermissions,
    Statement,
    iam_arns,
    merge,
    regional,
    resourceless,
    statement,
    untagged_until_now,
)
from tmsc.services.security import egress_anywhere, ingress_from_group, security_group

LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
ADDONS = ("coredns", "kube-proxy", "vpc-cni", "aws-ebs-csi-driver")
# Add-ons that call AWS APIs get their own IRSA role rather than the node role's rights.
ADDON_SERVICE_ACCOUNTS = {
    "vpc-cni": ("kube-system", "aws-node"),
    "aws-ebs-csi-driver": ("kube-system", "ebs-csi-controller-sa"),
}
ADDON_MANAGED_POLICIES = {
    "vpc-cni": "AmazonEKS_CNI_Policy",
    "aws-ebs-csi-driver": "service-role/AmazonEBSCSIDriverPolicy",
}
NODE_MANAGED_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly")
CLUSTER_ADMIN_ACCESS_POLICY = join("arn:", PARTITION, ":eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy")


def cluster_name(platform: Platform) -> str:
    return platform.service_of_kind("eks")[0]


def cluster_security_group(platform: Platform) -> Ref:
    """The group shared by the control plane and every node: data stores admit only its members."""
    return Ref(f"aws_security_group.{cluster_name(platform)}", "id")


def oidc_provider(platform: Platform) -> tuple[Ref, Ref]:
    """(ARN, issuer host/path) of the cluster's IAM OIDC provider; IAM returns the URL without its scheme."""
    address = f"aws_iam_openid_connect_provider.{cluster_name(platform)}"
    return Ref(address, "arn"), Ref(address, "url")


def managed_policy(name: str) -> Template:
    return join("arn:", PARTITION, f":iam::aws:policy/{name}")


def attach(address: str, role: Resource, policy_name: str) -> Resource:
    return Resource(
        "aws_iam_role_policy_attachment", address, {"role": role.ref("name"), "policy_arn": managed_policy(policy_name)}
    )


def irsa_trust(platform: Platform, namespace: str, service_account: str) -> JsonDocument:
    """Trust exactly one Kubernetes service account of this cluster, for STS only."""
    provider_arn, issuer = oidc_provider(platform)
    return JsonDocument(
        policy(
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        Template((issuer, ":sub")): f"system:serviceaccount:{namespace}:{service_account}",
                        Template((issuer, ":aud")): "sts.amazonaws.com",
                    }
                },
            }
        )
    )


def emit_cluster(ctx: Context, name: str, service: EksCluster) -> dict[str, tuple[Block, ...]]:
    plan = ctx.plan
    env = ctx.environment
    full_name = ctx.name(name)
    key, alias = environment_key(ctx, name, full_name, f"Kubernetes secrets of EKS cluster {full_name}")
    group = security_group(ctx, name, f"EKS control plane and nodes of {full_name}")
    # EKS writes to this exact name; creating it first lets us own retention and encryption.
    log_group = encrypted_log_group(ctx, name, f"/aws/eks/{full_name}/cluster")
    cluster_role = service_role(f"{name}_cluster", ctx.name(name, "cluster"), "eks.amazonaws.com")
    node_role = service_role(f"{name}_nodes", ctx.name(name, "nodes"), "ec2.amazonaws.com")
    public_cidrs = env.cluster_public_access_cidrs
    vpc_config: dict[str, Any] = {
        "subnet_ids": subnet_ids(ctx, "private"),
        "security_group_ids": [group.ref()],
        "endpoint_private_access": True,
        "endpoint_public_access": bool(public_cidrs),
    }
    if public_cidrs:
        vpc_config["public_access_cidrs"] = list(public_cidrs)
    cluster = Resource(
        "aws_eks_cluster",
        name,
        {
            "name": full_name,
            "version": service.version,
            "role_arn": cluster_role.ref("arn"),
            "vpc_config": vpc_config,
            "access_config": {"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": False},
            "encryption_config": {"provider": {"key_arn": key.ref("arn")}, "resources": ["secrets"]},
            "enabled_cluster_log_types": LOG_TYPES,
            # Add-ons are managed below, with versions and IRSA roles of their own.
            "bootstrap_self_managed_addons": False,
            "upgrade_policy": {"support_type": plan.cluster_upgrade_policy.value},
            "depends_on": [log_group.bare, Ref(f"aws_iam_role_policy_attachment.{name}_cluster")],
        },
        because=(plan.availability_zone_ids.reason, plan.cluster_upgrade_policy.reason),
    )
    blocks: list[Block] = [
        key,
        alias,
        group,
        ingress_from_group(
            f"{name}_internal", group.ref(), group.ref(), None, "control plane and nodes talk to each other"
        ),
        egress_anywhere(
            f"{name}_egress", group.ref(), "nodes pull images and reach AWS APIs through NAT and endpoints"
        ),
        log_group,
        cluster_role,
        attach(f"{name}_cluster", cluster_role, "AmazonEKSClusterPolicy"),
        node_role,
        *(attach(f"{name}_nodes_{p.split('/')[-1]}", node_role, p) for p in NODE_MANAGED_POLICIES),
        cluster,
        Resource(
            "aws_iam_openid_connect_provider",
            name,
            {"url": cluster.ref("identity[0].oidc[0].issuer"), "client_id_list": ["sts.amazonaws.com"]},
        ),
        Resource(
            "aws_eks_access_entry",
            f"{name}_admin",
            {
                "cluster_name": cluster.ref("name"),
                "principal_arn": join("arn:", PARTITION, ":iam::", ACCOUNT_ID, f":role/{service.admin_role_name}"),
                "type": "STANDARD",
            },
        ),
        Resource(
            "aws_eks_access_policy_association",
            f"{name}_admin",
            {
                "cluster_name": cluster.ref("name"),
                "principal_arn": Ref(f"aws_eks_access_entry.{name}_admin", "principal_arn"),
                "policy_arn": CLUSTER_ADMIN_ACCESS_POLICY,
                "access_scope": {"type": "cluster"},
            },
        ),
    ]
    blocks.extend(node_groups(ctx, name, service, cluster, node_role, group))
    blocks.extend(addons(ctx, name, service, cluster))
    return {"cluster": tuple(blocks)}


def node_groups(
    ctx: Context, name: str, service: EksCluster, cluster: Resource, node_role: Resource, group: Resource
) -> list[Block]:
    sizing = ctx.environment.sizing.cluster
    template = Resource(
        "aws_launch_template",
        f"{name}_nodes",
        {
            "name": ctx.name(name, "nodes"),
            "update_default_version": True,
            # IMDSv2 only, one hop: pods cannot borrow the node's credentials, they use IRSA.
            "metadata_options": {
                "http_endpoint": "enabled",
                "http_tokens": "required",
                "http_put_response_hop_limit": 1,
            },
            "vpc_security_group_ids": [group.ref()],
            "block_device_mappings": [
                {
                    "device_name": "/dev/xvda",
                    "ebs": {
                        "volume_size": sizing.disk_gib,
                        "volume_type": "gp3",
                        "encrypted": "true",
                        "delete_on_termination": "true",
                    },
                }
            ],
            "tag_specifications": [{"resource_type": "instance", "tags": {"Name": ctx.name(name, "node")}}],
        },
    )
    blocks: list[Block] = [template]
    reason = (ctx.plan.cluster_node_groups.reason,)
    for suffix, subnet in zip(ctx.zone_suffixes(), subnet_ids(ctx, "private"), strict=True):
        blocks.append(
            Resource(
                "aws_eks_node_group",
                f"{name}_{suffix}",
                {
                    "cluster_name": cluster.ref("name"),
                    "node_group_name": ctx.name(name, suffix),
                    "node_role_arn": node_role.ref("arn"),
                    "subnet_ids": [subnet],
                    "ami_type": ctx.plan.cluster_ami_type.value,
                    "capacity_type": "ON_DEMAND",
                    "instance_types": list(ctx.plan.cluster_instance_types.value),
                    "scaling_config": {
                        "min_size": sizing.nodes_per_az_min,
                        "max_size": sizing.nodes_per_az_max,
                        "desired_size": sizing.nodes_per_az_desired,
                    },
                    "update_config": {"max_unavailable": 1},
                    "launch_template": {"id": template.ref(), "version": template.ref("latest_version")},
                    # The autoscaler owns the desired size once the group exists.
                    "lifecycle": {"ignore_changes": ["scaling_config[0].desired_size"]},
                    "depends_on": [
                        Ref(f"aws_iam_role_policy_attachment.{name}_nodes_{p.split('/')[-1]}")
                        for p in NODE_MANAGED_POLICIES
                    ],
                },
                because=reason,
            )
        )
    return blocks


def addons(ctx: Context, name: str, service: EksCluster, cluster: Resource) -> list[Block]:
    blocks: list[Block] = []
    for addon in ADDONS:
        address = f"{name}_{addon.replace('-', '_')}"
        body: dict[str, Any] = {
            "cluster_name": cluster.ref("name"),
            "addon_name": addon,
            "resolve_conflicts_on_create": "OVERWRITE",
            "resolve_conflicts_on_update": "PRESERVE",
        }
        version = service.addon_versions.get(addon)  # type: ignore[call-overload]
        if version:
            body["addon_version"] = version
        if addon in ADDON_SERVICE_ACCOUNTS:
            namespace, account = ADDON_SERVICE_ACCOUNTS[addon]
            role = Resource(
                "aws_iam_role",
                f"irsa_{address}",
                {"name": ctx.name(addon), "assume_role_policy": irsa_trust(ctx.platform, namespace, account)},
            )
            blocks.extend([role, attach(f"irsa_{address}", role, ADDON_MANAGED_POLICIES[addon])])
            body["service_account_role_arn"] = role.ref("arn")
        if addon in ("coredns", "aws-ebs-csi-driver"):
            # These run as pods: they need nodes first.
            body["depends_on"] = [Ref(f"aws_eks_node_group.{name}_{suffix}") for suffix in ctx.zone_suffixes()]
        blocks.append(Resource("aws_eks_addon", address, body))
    return blocks


# --------------------------------------------------------------------------- what CI needs to apply it


def ci_cluster_statements(scope: ApplyScope) -> list[Statement]:
    """The cluster, its node groups and add-ons by name; who administers it is pinned to what this module emits."""
    name = scope.names
    _, service = scope.platform.service_of_kind("eks")
    assert isinstance(service, EksCluster)
    admin = join("arn:", PARTITION, ":iam::", ACCOUNT_ID, f":role/{service.admin_role_name}")
    # access-entry/<cluster>/<identity type>/<account>/<identity name>/<uuid>
    entries = [
        join(
            "arn:",
            PARTITION,
            f":eks:{region}:",
            ACCOUNT_ID,
            f":access-entry/{name}/role/",
            ACCOUNT_ID,
            f"/{service.admin_role_name}/*",
        )
        for region in scope.home
    ]
    return [
        statement(
            "OwnClusterNodeGroupsAddons",
            [
                "eks:AssociateEncryptionConfig",
                "eks:CreateAddon",
                "eks:CreateNodegroup",
                "eks:DeleteAddon",
                "eks:DeleteCluster",
                "eks:DeleteNodegroup",
                "eks:TagResource",
                "eks:UntagResource",
                "eks:UpdateAddon",
                "eks:UpdateClusterConfig",
                "eks:UpdateClusterVersion",
                "eks:UpdateNodegroupConfig",
                "eks:UpdateNodegroupVersion",
            ],
            regional("eks", scope.home, f"cluster/{name}", f"nodegroup/{name}/*/*", f"addon/{name}/*/*"),
        ),
        # CreateCluster takes no resource-level permissions: the request's tags scope it, and
        # bootstrap_cluster_creator_admin_permissions = false keeps the apply role from becoming a cluster admin.
        resourceless(
            "CreateClusterWithoutCreatorAdmin",
            ["eks:CreateCluster"],
            scope.home,
            CI_PERMISSIONS.resourceless,
            merge(scope.request_tags(), {"Bool": {"eks:bootstrapClusterCreatorAdminPermissions": "false"}}),
        ),
        # The one access entry the stack emits: the spec's admin role, cluster admin, cluster-wide. An access
        # entry's ARN names its principal, so the entry actions are scoped to the admin role's entries.
        statement(
            "AccessEntryOfTheAdminRoleOnly",
            ["eks:CreateAccessEntry"],
            regional("eks", scope.home, f"cluster/{name}"),
            {"ArnEquals": {"eks:principalArn": [admin]}},
        ),
        statement(
            "AdminAccessPolicyOfTheAdminRoleOnly",
            ["eks:AssociateAccessPolicy"],
            entries,
            {
                "ArnEquals": {"eks:policyArn": [CLUSTER_ADMIN_ACCESS_POLICY]},
                "StringEquals": {"eks:accessScope": "cluster"},
            },
        ),
        statement(
            "ChangeTheAdminRolesAccessEntryOnly",
            ["eks:DeleteAccessEntry", "eks:DisassociateAccessPolicy", "eks:UpdateAccessEntry"],
            entries,
        ),
    ]


def ci_cluster_oidc_statements(scope: ApplyScope) -> list[Statement]:
    """The cluster's IAM OIDC provider (IRSA): its ARN holds an issuer id AWS assigns, so it is scoped by tag."""
    eks_oidc = iam_arns(*(f"oidc-provider/oidc.eks.{r}.amazonaws.com/id/*" for r in scope.home))
    return [
        statement(
            "CreateClusterOidcProvider",
            ["iam:CreateOpenIDConnectProvider", "iam:TagOpenIDConnectProvider"],
            eks_oidc,
            merge(scope.request_tags(), untagged_until_now()),
        ),
        statement(
            "ManageOwnClusterOidcProvider",
            [
                "iam:AddClientIDToOpenIDConnectProvider",
                "iam:DeleteOpenIDConnectProvider",
                "iam:RemoveClientIDFromOpenIDConnectProvider",
                "iam:UntagOpenIDConnectProvider",
                "iam:UpdateOpenIDConnectProviderThumbprint",
            ],
            eks_oidc,
            scope.resource_tags(),
        ),
    ]


CI_PERMISSIONS = CiPermissions(
    family="cluster",
    group="platform",
    grants={
        "aws_eks_cluster": "CreateClusterWithoutCreatorAdmin",
        "aws_eks_node_group": "OwnClusterNodeGroupsAddons",
        "aws_eks_addon": "OwnClusterNodeGroupsAddons",
        "aws_eks_access_entry": "AccessEntryOfTheAdminRoleOnly",
        "aws_eks_access_policy_association": "AdminAccessPolicyOfTheAdminRoleOnly",
    },
    apply=ci_cluster_statements,
    reads=("eks:Describe*", "eks:List*"),
    resourceless={
        "eks:CreateCluster": "EKS authorizes CreateCluster on no resource (Service Authorization Reference)",
        "eks:Describe*": "DescribeAddonVersions and DescribeUpdate take no cluster ARN",
        "eks:List*": "ListClusters takes no resource",
    },
    # The cluster, node and add-on roles.
    passes_roles_to=("eks.amazonaws.com",),
    attaches_managed_policies=(
        "AmazonEKSClusterPolicy",
        *NODE_MANAGED_POLICIES,
        *ADDON_MANAGED_POLICIES.values(),
    ),
    service_linked_roles=("eks.amazonaws.com", "eks-nodegroup.amazonaws.com"),
)

CLUSTER_OIDC_CI_PERMISSIONS = CiPermissions(
    family="cluster-oidc",
    group="identity",
    grants={"aws_iam_openid_connect_provider": "CreateClusterOidcProvider"},
    apply=ci_cluster_oidc_statements,
)
