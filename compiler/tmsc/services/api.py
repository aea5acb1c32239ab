"""API Gateway: the public entry to the TMS APIs, an HTTP API with a VPC link to an internal load balancer.

Why an HTTP API and not a REST API with WAF (README, "API entry"): the TMS
APIs authenticate every call with JWTs, which HTTP APIs verify natively on
every route; a private integration with an internal ALB needs no NLB; latency
and cost are lower. HTTP APIs take no WAF: throttling and JWT authorization on
every route are the guards at the edge. The load balancer is created here; the
Kubernetes repository binds its pods to the target group (TargetGroupBinding).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from tmsc.ir import Block, Resource, Template
from tmsc.model import Api
from tmsc.services.cluster import cluster_security_group
from tmsc.services.context import Context
from tmsc.services.keys import encrypted_log_group
from tmsc.services.network import VPC_ID, subnet_ids
from tmsc.services.permissions import ApplyScope, CiPermissions, Statement, apigateway_arns, regional, statement
from tmsc.services.security import egress_to_group, ingress_from_group, security_group

LISTENER_PORT = 80  # inside the VPC only: TLS ends at API Gateway, the hop to the ALB stays private
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "integrationError": "$context.integrationErrorMessage",
    "authorizerError": "$context.authorizer.error",
}


def emit_api(ctx: Context, name: str, service: Api) -> dict[str, tuple[Block, ...]]:
    full_name = ctx.name(name)
    protect = ctx.plan.deletion_protection.value
    link_group = security_group(ctx, f"{name}_vpc_link", f"API Gateway VPC link of {full_name}")
    alb_group = security_group(ctx, f"{name}_alb", f"Internal load balancer of {full_name}: from the VPC link only")
    alb = Resource(
        "aws_lb",
        name,
        {
            "name": full_name,
            "internal": True,
            "load_balancer_type": "application",
            "subnets": subnet_ids(ctx, "private"),
            "security_groups": [alb_group.ref()],
            "drop_invalid_header_fields": True,
            "enable_deletion_protection": protect,
        },
    )
    target_group = Resource(
        "aws_lb_target_group",
        name,
        {
            "name": full_name,
            "port": service.target_port,
            "protocol": "HTTP",
            "target_type": "ip",
            "vpc_id": VPC_ID,
            "health_check": {"path": "/healthz", "protocol": "HTTP", "matcher": "200-399"},
        },
    )
    listener = Resource(
        "aws_lb_listener",
        name,
        {
            "load_balancer_arn": alb.ref("arn"),
            "port": LISTENER_PORT,
            "protocol": "HTTP",
            "default_action": [{"type": "forward", "target_group_arn": target_group.ref("arn")}],
        },
    )
    api = Resource(
        "aws_apigatewayv2_api",
        name,
        {"name": full_name, "protocol_type": "HTTP", "description": f"Public entry to the TMS APIs ({ctx.env_name})"},
    )
    link = Resource(
        "aws_apigatewayv2_vpc_link",
        name,
        {"name": full_name, "subnet_ids": subnet_ids(ctx, "private"), "security_group_ids": [link_group.ref()]},
    )
    integration = Resource(
        "aws_apigatewayv2_integration",
        name,
        {
            "api_id": api.ref(),
            "integration_type": "HTTP_PROXY",
            "integration_method": "ANY",
            "integration_uri": listener.ref("arn"),
            "connection_type": "VPC_LINK",
            "connection_id": link.ref(),
            "payload_format_version": "1.0",
        },
    )
    route_auth: dict[str, Any]
    blocks: list[Block] = []
    if service.authorization == "jwt":
        authorizer = Resource(
            "aws_apigatewayv2_authorizer",
            name,
            {
                "api_id": api.ref(),
                "name": "jwt",
                "authorizer_type": "JWT",
                "identity_sources": ["$request.header.Authorization"],
                "jwt_configuration": {"issuer": service.jwt_issuer, "audience": list(service.jwt_audience)},
            },
        )
        blocks.append(authorizer)
        route_auth = {"authorization_type": "JWT", "authorizer_id": authorizer.ref()}
    else:
        route_auth = {"authorization_type": "AWS_IAM"}
    route = Resource(
        "aws_apigatewayv2_route",
        name,
        {"api_id": api.ref(), "route_key": "ANY /{proxy+}", "target": _integration_target(integration), **route_auth},
    )
    access_logs = encrypted_log_group(ctx, f"{name}_access", f"/aws/apigateway/{full_name}/access")
    stage = Resource(
        "aws_apigatewayv2_stage",
        name,
        {
            "api_id": api.ref(),
            "name": "$default",
            "auto_deploy": True,
            "access_log_settings": {
                "destination_arn": access_logs.ref("arn"),
                "format": json.dumps(ACCESS_LOG_FORMAT, sort_keys=True),
            },
            "default_route_settings": {
                "throttling_rate_limit": service.throttle_rate_limit,
                "throttling_burst_limit": service.throttle_burst_limit,
                "detailed_metrics_enabled": True,
            },
        },
    )
    cluster_group = cluster_security_group(ctx.platform)
    blocks = [
        link_group,
        alb_group,
        egress_to_group(
            f"{name}_vpc_link_to_alb",
            link_group.ref(),
            alb_group.ref(),
            LISTENER_PORT,
            "VPC link to the internal load balancer",
        ),
        ingress_from_group(
            f"{name}_alb_from_vpc_link",
            alb_group.ref(),
            link_group.ref(),
            LISTENER_PORT,
            "from the API Gateway VPC link",
        ),
        egress_to_group(
            f"{name}_alb_to_pods", alb_group.ref(), cluster_group, service.target_port, "load balancer to the API pods"
        ),
        ingress_from_group(
            f"{name}_pods_from_alb",
            cluster_group,
            alb_group.ref(),
            service.target_port,
            "API pods from the internal load balancer",
        ),
        alb,
        target_group,
        listener,
        api,
        link,
        integration,
        *blocks,
        route,
        access_logs,
        stage,
    ]
    return {"api": tuple(blocks)}


def _integration_target(integration: Resource) -> Template:
    return Template(("integrations/", integration.ref()))


# --------------------------------------------------------------------------- what CI needs to apply it


def ci_api_read_statements(platform: Any, regions: Sequence[str]) -> list[Statement]:
    # HTTP API and VPC link ids are assigned by AWS; GET reads configuration only.
    return [
        statement(
            "ReadHttpApis",
            ["apigateway:GET"],
            apigateway_arns(regions, "/apis", "/apis/*", "/vpclinks", "/vpclinks/*", "/tags/*"),
        )
    ]


def ci_api_statements(scope: ApplyScope) -> list[Statement]:
    name = scope.names
    regions = scope.home
    return [
        statement(
            "OwnLoadBalancer",
            [
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:CreateLoadBalancer",
                "elasticloadbalancing:CreateTargetGroup",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:ModifyListenerAttributes",
                "elasticloadbalancing:ModifyLoadBalancerAttributes",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:RemoveTags",
                "elasticloadbalancing:SetSecurityGroups",
                "elasticloadbalancing:SetSubnets",
            ],
            regional(
                "elasticloadbalancing",
                regions,
                f"loadbalancer/app/{name}/*",
                f"targetgroup/{name}/*",
                f"listener/app/{name}/*/*",
                f"listener-rule/app/{name}/*/*/*",
            ),
        ),
        statement(
            "CreateTaggedHttpApiAndVpcLink",
            ["apigateway:POST"],
            apigateway_arns(regions, "/apis", "/vpclinks"),
            scope.request_tags(),
        ),
        statement(
            "ChangeOwnHttpApiAndVpcLink",
            ["apigateway:DELETE", "apigateway:PATCH", "apigateway:POST", "apigateway:PUT"],
            apigateway_arns(regions, "/apis/*", "/vpclinks/*", "/tags/*"),
            scope.resource_tags(),
        ),
        # Routes, integrations and authorizers of an HTTP API cannot be tagged, and API
        # Gateway V2 does not lend them their API's tags: the path is all AWS offers.
        statement(
            "HttpApiChildren",
            ["apigateway:DELETE", "apigateway:PATCH", "apigateway:POST"],
            apigateway_arns(
                regions,
                *(
                    f"/apis/*/{child}{tail}"
                    for child in ("routes", "integrations", "authorizers", "stages")
                    for tail in ("", "/*")
                ),
            ),
        ),
    ]


CI_PERMISSIONS = CiPermissions(
    family="api",
    group="platform",
    grants={
        "aws_lb": "OwnLoadBalancer",
        "aws_lb_listener": "OwnLoadBalancer",
        "aws_lb_target_group": "OwnLoadBalancer",
        "aws_apigatewayv2_api": "CreateTaggedHttpApiAndVpcLink",
        "aws_apigatewayv2_vpc_link": "CreateTaggedHttpApiAndVpcLink",
        "aws_apigatewayv2_authorizer": "HttpApiChildren",
        "aws_apigatewayv2_integration": "HttpApiChildren",
        "aws_apigatewayv2_route": "HttpApiChildren",
        "aws_apigatewayv2_stage": "HttpApiChildren",
    },
    apply=ci_api_statements,
    reads=("elasticloadbalancing:Describe*",),
    read_statements=ci_api_read_statements,
    resourceless={"elasticloadbalancing:Describe*": "ELB Describe calls take no resource-level permissions"},
    service_linked_roles=("elasticloadbalancing.amazonaws.com", "ops.apigateway.amazonaws.com"),
)
