"""Write troposphere and python-terrascript programs that build tmsc's compiled example, resource for resource.

    python generate.py troposphere OUT_DIR PROGRAM   (with the troposphere venv's python)
    python generate.py terrascript OUT_DIR PROGRAM   (with the terrascript venv's python)

The benchmark's equal-work rows: tmsc compiles spec/platform.yaml into 455
resources (three environments and the bootstrap stack, out/); this script
reads that compiled JSON and writes PROGRAM, a plain Python program of the
kind a user of the library writes by hand — one constructor call of the
library's own classes per resource, references as the library makes them
(`Ref(vpc_main)`, `GetAtt(...)`, `Sub(...)`; `f"${{{vpc_main.id}}}"` with
terrascript), policies as dicts serialized the way the library does, one
function per stack. PROGRAM is what the benchmark times (`python PROGRAM
OUT_DIR`); it prints `resources=N` and what it could not carry over.
This script itself is not timed, and PROGRAM is not committed: it is
generated again from out/ on every benchmark run.

The generator uses the library's own metadata (troposphere's property
tables; the resource classes terrascript ships) to pick each class and
property, so the program fails where the library would refuse the stack.

What each library cannot express is left out and counted (PROGRAM prints it):

- CloudFormation has no resource for six of the seven S3 bucket resources
  (versioning, encryption, lifecycle, ownership, public access block), for a
  role's policy attachments, an EKS access policy association or a secret
  version: they become properties of the bucket, role, access entry or
  secret they configure (the program sets them on that object). It has none
  at all for a VPC's default security group or RDS cross-region backup
  replication (left out), nor data sources (the partition, account and
  region are pseudo-parameters), ephemeral resources, providers or a state
  backend. It needs one resource Terraform does not: each internet gateway's
  VPC attachment.
- A Terraform argument whose CloudFormation property cannot be found in
  troposphere's tables (different names, or no equivalent) is dropped and
  counted.
- python-terrascript 0.9.0 predates ephemeral blocks (left out); its resource
  and data classes stop at the AWS provider of its day, so newer types are
  declared as subclasses of its Resource and Data, as its documentation does.
"""

from __future__ import annotations

import json
import keyword
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

STACK_ORDER = ("bootstrap", "dev", "staging", "prod")
SKIP_KEYS = {"//"}
# A whole reference or one inside a string: ${aws_vpc.main.id}, ${data.aws_partition.current.partition},
# ${aws_db_instance.database.master_user_secret[0].secret_arn}. Anything else (functions) stays text.
REF = re.compile(r"\$\{((?:data\.|ephemeral\.)?aws_[a-z0-9_]+)\.([a-z0-9_]+)((?:\.[a-z0-9_]+|\[\d+\])*)\}")


# --------------------------------------------------------------------------- reading out/


def read_stacks(out: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """stack → section (resource, data, ephemeral, output, provider, terraform) → merged content."""
    stacks: dict[str, dict[str, dict[str, Any]]] = {}
    names = sorted((p.name for p in out.iterdir() if p.is_dir()), key=lambda n: (n not in STACK_ORDER, n))
    for name in sorted(names, key=lambda n: STACK_ORDER.index(n) if n in STACK_ORDER else 99):
        merged: dict[str, dict[str, Any]] = {}
        for path in sorted((out / name).glob("*.tf.json")):
            for section, content in json.loads(path.read_text()).items():
                target = merged.setdefault(section, {})
                if section == "provider":
                    for provider, blocks in content.items():
                        target.setdefault(provider, []).extend(blocks if isinstance(blocks, list) else [blocks])
                elif section in ("resource", "data", "ephemeral"):
                    for kind, blocks in content.items():
                        target.setdefault(kind, {}).update(blocks)
                else:
                    target.update(content)
        stacks[name] = merged
    return stacks


def blocks_in_order(stack: dict[str, dict[str, Any]]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(section, type, name, body) of every data source, ephemeral resource and resource, each after what it refers to."""
    nodes: dict[str, tuple[str, str, str, dict[str, Any]]] = {}
    for section in ("data", "ephemeral", "resource"):
        for kind, blocks in sorted(stack.get(section, {}).items()):
            for name, body in sorted(blocks.items()):
                prefix = "" if section == "resource" else f"{section}."
                nodes[f"{prefix}{kind}.{name}"] = (section, kind, name, body)
    done: list[str] = []
    seen: set[str] = set()

    def visit(key: str, stack_: tuple[str, ...]) -> None:
        if key in seen or key not in nodes:
            return
        if key in stack_:
            raise ValueError(f"reference cycle through {key}")
        body = nodes[key][3]
        for dep in sorted(dependencies(body)):
            if dep != key:
                visit(dep, (*stack_, key))
        seen.add(key)
        done.append(key)

    for key in nodes:
        visit(key, ())
    return [nodes[k] for k in done]


def dependencies(value: Any) -> set[str]:
    found: set[str] = set()
    for text in strings(value):
        found.update(m.group(1) + "." + m.group(2) for m in REF.finditer(text))
    if isinstance(value, dict):
        found.update(value.get("depends_on", []))
    return found


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)


def json_document(value: Any) -> Any:
    """The parsed document when value is a JSON object or array in a string (a policy, a secret), else None."""
    if isinstance(value, str) and value[:1] in ("{", "[") and value[-1:] in ("}", "]"):
        try:
            doc = json.loads(value)
        except ValueError:
            return None
        # Only what serializing the document gives back byte for byte (tmsc writes them compact, keys sorted).
        return doc if json.dumps(doc, separators=(",", ":"), sort_keys=True) == value else None
    return None


def variable(kind: str, name: str, section: str = "resource") -> str:
    base = kind.removeprefix("aws_")
    return f"{'' if section == 'resource' else section[0] + '_'}{base}__{name}"


def py_string(text: str) -> str:
    return json.dumps(text)


def kwargs(items: list[tuple[str, str]]) -> str:
    plain = [f"{k}={v}" for k, v in items if k.isidentifier() and not keyword.iskeyword(k)]
    odd = [f"{json.dumps(k)}: {v}" for k, v in items if not (k.isidentifier() and not keyword.iskeyword(k))]
    return ", ".join(plain + ([f"**{{{', '.join(odd)}}}"] if odd else []))


# --------------------------------------------------------------------------- python-terrascript


class TerrascriptWriter:
    def __init__(self) -> None:
        import terrascript.data.aws as data_aws
        import terrascript.resource.aws as resource_aws

        self.known_resources = set(resource_aws.__all__)
        self.known_data = set(data_aws.__all__)
        self.declared: dict[str, str] = {}  # class name → base
        self.defined: dict[str, str] = {}  # "aws_vpc.main" / "data.aws_x.y" → python variable
        self.bodies: dict[str, dict[str, Any]] = {}
        self.left_out: dict[str, int] = {}

    def klass(self, section: str, kind: str) -> str:
        if section == "resource":
            if kind in self.known_resources:
                return f"r.{kind}"
            self.declared[kind] = "terrascript.Resource"
            return kind
        if kind in self.known_data:
            return f"d.{kind}"
        self.declared[kind] = "terrascript.Data"
        return kind

    def string(self, text: str) -> str:
        doc = json_document(text)
        if doc is not None:
            return f"json.dumps({self.value(doc)}, separators=(',', ':'), sort_keys=True)"
        parts: list[str] = []
        last = 0
        for match in REF.finditer(text):
            target = match.group(1) + "." + match.group(2)
            # terrascript answers an attribute that is also an argument with the argument's value, not a reference.
            if (
                target not in self.defined
                or match.group(3).lstrip(".").partition("[")[0].partition(".")[0] in self.bodies[target]
            ):
                continue
            parts.append(self._literal(text[last : match.start()]))
            # terrascript's attributes chain by name (vpc.id); an index ([0]) is written after it as text.
            attribute, bracket, rest = match.group(3).lstrip(".").partition("[")
            parts.append("${{{" + self.defined[target] + "." + attribute + "}" + self._literal(bracket + rest) + "}}")
            last = match.end()
        if not parts:
            return py_string(text)
        parts.append(self._literal(text[last:]))
        return 'f"' + "".join(parts) + '"'

    @staticmethod
    def _literal(text: str) -> str:
        return json.dumps(text)[1:-1].replace("{", "{{").replace("}", "}}")

    def value(self, value: Any) -> str:
        if isinstance(value, str):
            return self.string(value)
        if isinstance(value, dict):
            return (
                "{"
                + ", ".join(f"{py_string(k)}: {self.value(v)}" for k, v in value.items() if k not in SKIP_KEYS)
                + "}"
            )
        if isinstance(value, list):
            return "[" + ", ".join(self.value(v) for v in value) + "]"
        return repr(value)

    def body(self, body: dict[str, Any]) -> str:
        return kwargs([(k, self.value(v)) for k, v in body.items() if k not in SKIP_KEYS])

    def stack(self, name: str, stack: dict[str, dict[str, Any]]) -> list[str]:
        self.defined, self.bodies = {}, {}
        lines = [f"def build_{name}() -> terrascript.Terrascript:", "    config = terrascript.Terrascript()"]
        terraform = dict(stack.get("terraform", {}))
        backend = terraform.pop("backend", None)
        items = [(k, self.value(v)) for k, v in terraform.items()]
        if backend:
            ((kind, settings),) = backend.items()
            items.append(("backend", f"terrascript.Backend({py_string(kind)}, {self.body(settings)})"))
        lines.append(f"    config += terrascript.Terraform({kwargs(items)})")
        for provider, blocks in stack.get("provider", {}).items():
            for block in blocks:
                lines.append(f"    config += provider.{provider}({self.body(block)})")
        for section, kind, block_name, body in blocks_in_order(stack):
            if section == "ephemeral":
                self.left_out[f"ephemeral {kind}"] = self.left_out.get(f"ephemeral {kind}", 0) + 1
                continue
            var = variable(kind, block_name, section)
            call = f"{self.klass(section, kind)}({py_string(block_name)}{', ' if body else ''}{self.body(body)})"
            lines.append(f"    {var} = config.add({call})")
            self.defined[f"{'data.' if section == 'data' else ''}{kind}.{block_name}"] = var
            self.bodies[f"{'data.' if section == 'data' else ''}{kind}.{block_name}"] = body
        for output, body in stack.get("output", {}).items():
            lines.append(f"    config += terrascript.Output({py_string(output)}, {self.body(body)})")
        lines += ["    return config", "", ""]
        return lines

    def program(self, stacks: dict[str, dict[str, dict[str, Any]]]) -> str:
        functions: list[str] = []
        for name, stack in stacks.items():
            functions += self.stack(name, stack)
        head = [
            '"""Generated by bench/equivalents/generate.py from out/: tmsc\'s compiled example with python-terrascript."""',
            "",
            "import json",
            "import sys",
            "from pathlib import Path",
            "",
            "import terrascript",
            "import terrascript.data.aws as d",
            "import terrascript.provider as provider",
            "import terrascript.resource.aws as r",
            "",
            "",
        ]
        for kind, base in sorted(self.declared.items()):
            head += [f"class {kind}({base}):", "    pass", "", ""]
        main = [
            "def main() -> None:",
            "    out = Path(sys.argv[1])",
            "    resources = 0",
            f"    for name, build in {{{', '.join(f'{n!r}: build_{n}' for n in stacks)}}}.items():",
            "        config = build()",
            "        (out / name).mkdir(parents=True, exist_ok=True)",
            '        (out / name / "main.tf.json").write_text(str(config) + "\\n")',
            '        resources += sum(len(blocks) for blocks in config.get("resource", {}).values())',
            f'    print(f"resources={{resources}}", {py_string("left_out=" + json.dumps(self.left_out, sort_keys=True))})',
            "",
            "",
            'if __name__ == "__main__":',
            "    main()",
        ]
        return "\n".join(head + functions + main) + "\n"


# --------------------------------------------------------------------------- troposphere

# Terraform type → troposphere module.class; None: CloudFormation has no such resource.
CFN_TYPES: dict[str, str | None] = {
    "aws_apigatewayv2_api": "apigatewayv2.Api",
    "aws_apigatewayv2_authorizer": "apigatewayv2.Authorizer",
    "aws_apigatewayv2_integration": "apigatewayv2.Integration",
    "aws_apigatewayv2_route": "apigatewayv2.Route",
    "aws_apigatewayv2_stage": "apigatewayv2.Stage",
    "aws_apigatewayv2_vpc_link": "apigatewayv2.VpcLink",
    "aws_cloudwatch_log_group": "logs.LogGroup",
    "aws_db_instance": "rds.DBInstance",
    "aws_db_instance_automated_backups_replication": None,
    "aws_db_parameter_group": "rds.DBParameterGroup",
    "aws_db_subnet_group": "rds.DBSubnetGroup",
    "aws_default_security_group": None,
    "aws_dynamodb_table": "dynamodb.Table",
    "aws_eip": "ec2.EIP",
    "aws_eks_access_entry": "eks.AccessEntry",
    "aws_eks_addon": "eks.Addon",
    "aws_eks_cluster": "eks.Cluster",
    "aws_eks_node_group": "eks.Nodegroup",
    "aws_elasticache_replication_group": "elasticache.ReplicationGroup",
    "aws_elasticache_subnet_group": "elasticache.SubnetGroup",
    "aws_elasticache_user": "elasticache.User",
    "aws_elasticache_user_group": "elasticache.UserGroup",
    "aws_flow_log": "ec2.FlowLog",
    "aws_iam_openid_connect_provider": "iam.OIDCProvider",
    "aws_iam_policy": "iam.ManagedPolicy",
    "aws_iam_role": "iam.Role",
    "aws_iam_role_policy": "iam.RolePolicy",
    "aws_internet_gateway": "ec2.InternetGateway",
    "aws_kms_alias": "kms.Alias",
    "aws_kms_key": "kms.Key",
    "aws_launch_template": "ec2.LaunchTemplate",
    "aws_lb": "elasticloadbalancingv2.LoadBalancer",
    "aws_lb_listener": "elasticloadbalancingv2.Listener",
    "aws_lb_target_group": "elasticloadbalancingv2.TargetGroup",
    "aws_mq_broker": "amazonmq.Broker",
    "aws_nat_gateway": "ec2.NatGateway",
    "aws_route": "ec2.Route",
    "aws_route_table": "ec2.RouteTable",
    "aws_route_table_association": "ec2.SubnetRouteTableAssociation",
    "aws_s3_bucket": "s3.Bucket",
    "aws_s3_bucket_policy": "s3.BucketPolicy",
    "aws_secretsmanager_secret": "secretsmanager.Secret",
    "aws_secretsmanager_secret_policy": "secretsmanager.ResourcePolicy",
    "aws_security_group": "ec2.SecurityGroup",
    "aws_subnet": "ec2.Subnet",
    "aws_vpc": "ec2.VPC",
    "aws_vpc_endpoint": "ec2.VPCEndpoint",
    "aws_vpc_security_group_egress_rule": "ec2.SecurityGroupEgress",
    "aws_vpc_security_group_ingress_rule": "ec2.SecurityGroupIngress",
}

# Terraform resources CloudFormation folds into a property of the resource they configure:
# type → (the argument naming that resource, how the property is written).
FOLDED = {
    "aws_s3_bucket_versioning": "bucket",
    "aws_s3_bucket_server_side_encryption_configuration": "bucket",
    "aws_s3_bucket_lifecycle_configuration": "bucket",
    "aws_s3_bucket_ownership_controls": "bucket",
    "aws_s3_bucket_public_access_block": "bucket",
    "aws_iam_role_policy_attachment": "role",
    "aws_eks_access_policy_association": "principal_arn",
    "aws_secretsmanager_secret_version": "secret_id",
}

# Terraform argument → CloudFormation property, where the names differ beyond case and underscores.
RENAMES: dict[str, dict[str, str]] = {
    "*": {"name": "Name", "tags": "Tags", "description": "Description"},
    "aws_apigatewayv2_api": {"cors_configuration": "CorsConfiguration"},
    "aws_apigatewayv2_authorizer": {"identity_sources": "IdentitySource", "jwt_configuration": "JwtConfiguration"},
    "aws_apigatewayv2_route": {"target": "Target"},
    "aws_apigatewayv2_stage": {
        "name": "StageName",
        "access_log_settings": "AccessLogSettings",
        "default_route_settings": "DefaultRouteSettings",
    },
    "aws_cloudwatch_log_group": {
        "name": "LogGroupName",
        "retention_in_days": "RetentionInDays",
        "kms_key_id": "KmsKeyId",
    },
    "aws_db_instance": {
        "identifier": "DBInstanceIdentifier",
        "instance_class": "DBInstanceClass",
        "db_name": "DBName",
        "username": "MasterUsername",
        "parameter_group_name": "DBParameterGroupName",
        "vpc_security_group_ids": "VPCSecurityGroups",
        "backup_retention_period": "BackupRetentionPeriod",
        "backup_window": "PreferredBackupWindow",
        "maintenance_window": "PreferredMaintenanceWindow",
        "iam_database_authentication_enabled": "EnableIAMDatabaseAuthentication",
        "performance_insights_enabled": "EnablePerformanceInsights",
        "performance_insights_kms_key_id": "PerformanceInsightsKMSKeyId",
        "performance_insights_retention_period": "PerformanceInsightsRetentionPeriod",
        "monitoring_role_arn": "MonitoringRoleArn",
        "final_snapshot_identifier": "DBSnapshotIdentifier",
        "enabled_cloudwatch_logs_exports": "EnableCloudwatchLogsExports",
    },
    "aws_db_parameter_group": {"name": "DBParameterGroupName", "family": "Family", "parameter": "Parameters"},
    "aws_db_subnet_group": {"name": "DBSubnetGroupName", "description": "DBSubnetGroupDescription"},
    "aws_dynamodb_table": {
        "name": "TableName",
        "attribute": "AttributeDefinitions",
        "point_in_time_recovery": "PointInTimeRecoverySpecification",
        "server_side_encryption": "SSESpecification",
    },
    "aws_eks_cluster": {"vpc_config": "ResourcesVpcConfig"},
    "aws_eks_node_group": {"node_group_name": "NodegroupName", "node_role_arn": "NodeRole", "subnet_ids": "Subnets"},
    "aws_elasticache_replication_group": {
        "description": "ReplicationGroupDescription",
        "node_type": "CacheNodeType",
        "subnet_group_name": "CacheSubnetGroupName",
        "parameter_group_name": "CacheParameterGroupName",
        "num_cache_clusters": "NumCacheClusters",
        "user_group_ids": "UserGroupIds",
        "security_group_ids": "SecurityGroupIds",
        "maintenance_window": "PreferredMaintenanceWindow",
        "log_delivery_configuration": "LogDeliveryConfigurations",
    },
    "aws_elasticache_subnet_group": {"name": "CacheSubnetGroupName"},
    "aws_elasticache_user": {"user_name": "UserName", "authentication_mode": "AuthenticationMode"},
    "aws_elasticache_user_group": {"user_ids": "UserIds"},
    "aws_flow_log": {"vpc_id": "ResourceId", "iam_role_arn": "DeliverLogsPermissionArn"},
    "aws_iam_openid_connect_provider": {"client_id_list": "ClientIdList", "thumbprint_list": "ThumbprintList"},
    "aws_iam_policy": {"name": "ManagedPolicyName", "policy": "PolicyDocument"},
    "aws_iam_role": {"name": "RoleName", "assume_role_policy": "AssumeRolePolicyDocument"},
    "aws_iam_role_policy": {"name": "PolicyName", "policy": "PolicyDocument", "role": "RoleName"},
    "aws_kms_alias": {"name": "AliasName"},
    "aws_kms_key": {"policy": "KeyPolicy", "deletion_window_in_days": "PendingWindowInDays"},
    "aws_launch_template": {"name": "LaunchTemplateName"},
    "aws_lb": {"internal": "Scheme", "subnets": "Subnets"},
    "aws_lb_listener": {"default_action": "DefaultActions"},
    "aws_mq_broker": {
        "broker_name": "BrokerName",
        "user": "Users",
        "maintenance_window_start_time": "MaintenanceWindowStartTime",
        "logs": "Logs",
    },
    "aws_s3_bucket": {"bucket": "BucketName"},
    "aws_secretsmanager_secret_policy": {"secret_arn": "SecretId", "policy": "ResourcePolicy"},
    "aws_security_group": {"name": "GroupName", "description": "GroupDescription"},
    "aws_vpc_endpoint": {"service_name": "ServiceName", "route_table_ids": "RouteTableIds"},
    "aws_vpc_security_group_egress_rule": {
        "security_group_id": "GroupId",
        "cidr_ipv4": "CidrIp",
        "referenced_security_group_id": "DestinationSecurityGroupId",
    },
    "aws_vpc_security_group_ingress_rule": {
        "security_group_id": "GroupId",
        "cidr_ipv4": "CidrIp",
        "referenced_security_group_id": "SourceSecurityGroupId",
    },
}

RENAMES.update(
    {
        "dynamodb.AttributeDefinition": {"name": "AttributeName", "type": "AttributeType"},
        "dynamodb.PointInTimeRecoverySpecification": {"enabled": "PointInTimeRecoveryEnabled"},
        "dynamodb.SSESpecification": {"enabled": "SSEEnabled", "kms_key_arn": "KMSMasterKeyId"},
        "ec2.LaunchTemplateData": {"vpc_security_group_ids": "SecurityGroupIds"},
        "elasticache.CloudWatchLogsDestinationDetails": {"log_group": "LogGroup"},
    }
)
RENAMES["aws_db_instance"].update(
    {"ca_cert_identifier": "CACertificateIdentifier", "master_user_secret": "MasterUserSecret"}
)
RENAMES["aws_eks_addon"] = {"resolve_conflicts_on_create": "ResolveConflicts"}
RENAMES["aws_lb"].update({"load_balancer_type": "Type"})
RENAMES["aws_s3_bucket_policy"] = {"policy": "PolicyDocument"}
RENAMES["aws_lb_target_group"] = {
    "health_check_interval": "HealthCheckIntervalSeconds",
    "health_check_timeout": "HealthCheckTimeoutSeconds",
    "health_check_healthy_threshold": "HealthyThresholdCount",
    "health_check_unhealthy_threshold": "UnhealthyThresholdCount",
    "health_check_matcher": "Matcher",
}

# Properties CloudFormation requires where Terraform has a default: the value Terraform would use.
REQUIRED_DEFAULTS = {
    "aws_db_parameter_group": {"description": "Managed by Terraform"},
    "aws_db_subnet_group": {"description": "Managed by Terraform"},
    "aws_elasticache_subnet_group": {"description": "Managed by Terraform"},
    "aws_flow_log": {"resource_type": "VPC"},
}


def reshape(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """A Terraform block rearranged where CloudFormation nests or flattens the same settings differently."""
    body = {**REQUIRED_DEFAULTS.get(kind, {}), **body}
    if kind == "aws_internet_gateway":
        body.pop("vpc_id", None)  # CloudFormation attaches the gateway with a resource of its own (below)
    if kind == "aws_launch_template":
        outer: dict[str, Any] = {k: body.pop(k) for k in ("name", "tags", "update_default_version", "//") if k in body}
        return {**outer, "launch_template_data": body}
    if kind == "aws_lb_target_group" and isinstance(body.get("health_check"), dict):
        check = body.pop("health_check")
        body.update({("health_check_" + k if not k.startswith("health") else k): v for k, v in check.items()})
        if "health_check_matcher" in body:
            body["health_check_matcher"] = {"http_code": body["health_check_matcher"]}
        return body
    if kind == "aws_lb":
        attributes = {
            "enable_deletion_protection": "deletion_protection.enabled",
            "drop_invalid_header_fields": "routing.http.drop_invalid_header_fields.enabled",
        }
        pairs = [{"key": attributes[k], "value": str(body.pop(k)).lower()} for k in list(body) if k in attributes]
        if "internal" in body:
            body["internal"] = "internal" if body["internal"] else "internet-facing"
        return {**body, "load_balancer_attributes": pairs} if pairs else body
    if kind == "aws_eks_cluster" and "enabled_cluster_log_types" in body:
        types = body.pop("enabled_cluster_log_types")
        return {**body, "logging": {"cluster_logging": {"enabled_types": [{"type": t} for t in types]}}}
    if kind == "aws_elasticache_replication_group":
        for delivery in body.get("log_delivery_configuration", []):
            destination = delivery.pop("destination", None)
            if destination is not None:
                delivery["destination_details"] = {"cloud_watch_logs_details": {"log_group": destination}}
        return body
    if kind == "aws_db_instance" and "master_user_secret_kms_key_id" in body:
        body["master_user_secret"] = {"kms_key_id": body.pop("master_user_secret_kms_key_id")}
        return body
    if kind == "aws_dynamodb_table" and "hash_key" in body:
        body["key_schema"] = [{"attribute_name": body.pop("hash_key"), "key_type": "HASH"}]
        return body
    return body


PSEUDO = {
    "data.aws_caller_identity.current.account_id": "AWS::AccountId",
    "data.aws_partition.current.partition": "AWS::Partition",
    "data.aws_region.current.name": "AWS::Region",
}


def camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def logical_id(kind: str, name: str) -> str:
    return camel(kind.removeprefix("aws_")) + camel(name)


class TroposphereWriter:
    def __init__(self) -> None:
        import troposphere

        self.troposphere = troposphere
        self.modules: set[str] = set()
        self.defined: dict[str, str] = {}  # "aws_vpc.main" → python variable
        self.logical: dict[str, str] = {}  # "aws_vpc.main" → logical id
        self.kinds: dict[str, str] = {}  # "aws_vpc.main" → terraform type
        self.dropped: dict[str, int] = {}
        self.dropped_keys: dict[str, set[str]] = {}
        self.left_out: dict[str, int] = {}
        self.folded: dict[str, int] = {}
        self.extra: dict[str, int] = {}
        self.carried = 0

    def cls(self, dotted: str) -> Any:
        import importlib

        module, name = dotted.split(".")
        self.modules.add(module)
        return getattr(importlib.import_module(f"troposphere.{module}"), name)

    # ---- values

    def reference(self, target: str, attribute: str) -> str | None:
        """Ref/GetAtt for a whole-string reference, or None when CloudFormation has no such object."""
        whole = f"{target}.{attribute.lstrip('.')}"
        if whole in PSEUDO:
            return f"Ref({py_string(PSEUDO[whole])})"
        if target not in self.defined:
            return None
        var = self.defined[target]
        path = [p for p in re.split(r"[.\[\]]", attribute.lstrip(".")) if p and not p.isdigit()]
        if path in (["id"], ["name"]) or (path == ["key_id"] and self.kinds[target] == "aws_kms_key"):
            return f"Ref({var})"
        return f"GetAtt({var}, {py_string('.'.join(camel(p) for p in path))})"

    def sub_name(self, target: str, attribute: str) -> str | None:
        whole = f"{target}.{attribute.lstrip('.')}"
        if whole in PSEUDO:
            return PSEUDO[whole]
        if target not in self.defined:
            return None
        path = [p for p in re.split(r"[.\[\]]", attribute.lstrip(".")) if p and not p.isdigit()]
        if path in (["id"], ["name"]):
            return self.logical[target]
        return self.logical[target] + "." + ".".join(camel(p) for p in path)

    def scalar(self, text: str) -> str:
        matches = list(REF.finditer(text))
        if not matches:
            return py_string(text)
        if len(matches) == 1 and matches[0].span() == (0, len(text)):
            ref = self.reference(matches[0].group(1) + "." + matches[0].group(2), matches[0].group(3))
            return ref or py_string(text)
        template, last, used = "", 0, False
        for match in matches:
            name = self.sub_name(match.group(1) + "." + match.group(2), match.group(3))
            template += text[last : match.start()].replace("${", "${!")
            template += "${" + name + "}" if name else match.group(0).replace("${", "${!")
            used = used or name is not None
            last = match.end()
        template += text[last:].replace("${", "${!")
        return f"Sub({py_string(template)})" if used else py_string(text)

    def document(self, value: Any) -> str:
        """A policy or other JSON document as a dict literal, references inside as Ref/GetAtt/Sub."""
        if isinstance(value, dict):
            return "{" + ", ".join(f"{py_string(k)}: {self.document(v)}" for k, v in value.items()) + "}"
        if isinstance(value, list):
            return "[" + ", ".join(self.document(v) for v in value) + "]"
        if isinstance(value, str):
            return self.scalar(value)
        return repr(value)

    def typed(self, expected: Any, value: Any, kind: str) -> str | None:
        """value as troposphere expects it for a property of type `expected`; None when it cannot be carried."""
        troposphere = self.troposphere
        if isinstance(expected, list):
            items = value if isinstance(value, list) else [value]
            converted = [self.typed(expected[0], v, kind) for v in items]
            return "[" + ", ".join(c for c in converted if c is not None) + "]"
        if (isinstance(expected, type) and issubclass(expected, troposphere.Tags)) or getattr(
            expected, "__name__", ""
        ).startswith("validate_tags"):
            return f"Tags({self.document(value)})" if isinstance(value, dict) else None
        if isinstance(expected, type) and issubclass(expected, troposphere.AWSProperty):
            if isinstance(value, list):
                value = value[0] if len(value) == 1 else None
            if not isinstance(value, dict):
                return None
            return self.construct(expected, value, kind, title=None)
        if getattr(expected, "__name__", "") == "policytypes" or expected is dict:
            doc = json_document(value)
            if doc is not None:
                return self.document(doc)
            if isinstance(value, list) and all(isinstance(v, dict) and {"name", "value"} <= v.keys() for v in value):
                return self.document({v["name"]: v["value"] for v in value})  # parameter blocks → a map
            return self.document(value) if isinstance(value, dict) else None
        if isinstance(value, str):
            doc = json_document(value)
            if doc is not None:
                return f"json.dumps({self.document(doc)})" if not REF.search(value) else self.scalar(value)
            return self.scalar(value)
        if expected is list and isinstance(value, list):
            return "[" + ", ".join(self.document(v) for v in value) + "]"
        if isinstance(value, (dict, list)):
            return None
        if expected is str:
            return py_string(str(value).lower() if isinstance(value, bool) else str(value))
        return repr(value)

    def construct(self, cls: Any, body: dict[str, Any], kind: str, title: str | None) -> str:
        nested = f"{cls.__module__.removeprefix('troposphere.')}.{cls.__name__}"
        renames = {**RENAMES["*"], **RENAMES.get(kind if title else nested, {})}
        by_folded = {p.replace("_", "").lower(): p for p in cls.props}
        items: list[tuple[str, str]] = []
        for key, value in body.items():
            if key in SKIP_KEYS or key in ("depends_on", "lifecycle", "provider"):
                continue
            prop = renames.get(key) if renames.get(key) in cls.props else None
            prop = prop or by_folded.get(key.replace("_", "").lower())
            converted = self.typed(cls.props[prop][0], value, kind) if prop else None
            if prop is None or converted is None or any(p == prop for p, _ in items):
                self.dropped[kind] = self.dropped.get(kind, 0) + 1
                self.dropped_keys.setdefault(f"{kind} {nested}", set()).add(key)
                continue
            self.carried += 1
            items.append((prop, converted))
        head = [py_string(title)] if title else []
        extra = []
        if title:
            deps = [self.logical[d] for d in body.get("depends_on", []) if d in self.logical]
            if deps:
                extra.append(("DependsOn", repr(deps)))
            if body.get("lifecycle", {}).get("prevent_destroy"):
                extra.append(("DeletionPolicy", '"Retain"'))
        return f"{cls.__module__.removeprefix('troposphere.')}.{cls.__name__}({', '.join([*head, kwargs(items + extra)] if items or extra else head)})"

    # ---- folded resources

    def fold(self, kind: str, body: dict[str, Any], lines: list[str]) -> bool:
        match = REF.fullmatch(str(body.get(FOLDED[kind], "")))
        target = match.group(1) + "." + match.group(2) if match else None
        if target not in self.defined:
            return False
        var = self.defined[target]
        if kind == "aws_s3_bucket_versioning":
            status = body["versioning_configuration"]["status"]
            lines.append(f"    {var}.VersioningConfiguration = s3.VersioningConfiguration(Status={py_string(status)})")
        elif kind == "aws_s3_bucket_server_side_encryption_configuration":
            rules = []
            for rule in body["rule"]:
                default = rule["apply_server_side_encryption_by_default"]
                rules.append(
                    "s3.ServerSideEncryptionRule(ServerSideEncryptionByDefault=s3.ServerSideEncryptionByDefault("
                    f"SSEAlgorithm={py_string(default['sse_algorithm'])}, KMSMasterKeyID={self.scalar(default['kms_master_key_id'])}), "
                    f"BucketKeyEnabled={rule.get('bucket_key_enabled', False)!r})"
                )
            lines.append(
                f"    {var}.BucketEncryption = s3.BucketEncryption(ServerSideEncryptionConfiguration=[{', '.join(rules)}])"
            )
        elif kind == "aws_s3_bucket_lifecycle_configuration":
            rules = []
            for rule in body["rule"]:
                args = [f"Id={py_string(rule['id'])}", f"Status={py_string(rule['status'])}"]
                if "noncurrent_version_expiration" in rule:
                    days = rule["noncurrent_version_expiration"]["noncurrent_days"]
                    args.append(f"NoncurrentVersionExpiration=s3.NoncurrentVersionExpiration(NoncurrentDays={days})")
                if "abort_incomplete_multipart_upload" in rule:
                    days = rule["abort_incomplete_multipart_upload"]["days_after_initiation"]
                    args.append(
                        f"AbortIncompleteMultipartUpload=s3.AbortIncompleteMultipartUpload(DaysAfterInitiation={days})"
                    )
                if "expiration" in rule:
                    args.append(f"ExpirationInDays={rule['expiration']['days']}")
                rules.append(f"s3.LifecycleRule({', '.join(args)})")
            lines.append(f"    {var}.LifecycleConfiguration = s3.LifecycleConfiguration(Rules=[{', '.join(rules)}])")
        elif kind == "aws_s3_bucket_ownership_controls":
            ownership = body["rule"]["object_ownership"]
            lines.append(
                f"    {var}.OwnershipControls = s3.OwnershipControls(Rules=[s3.OwnershipControlsRule(ObjectOwnership={py_string(ownership)})])"
            )
        elif kind == "aws_s3_bucket_public_access_block":
            flags = ", ".join(
                f"{camel(k).replace('Acls', 'Acls')}={body[k]!r}"
                for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
            )
            lines.append(f"    {var}.PublicAccessBlockConfiguration = s3.PublicAccessBlockConfiguration({flags})")
        elif kind == "aws_iam_role_policy_attachment":
            arn = self.scalar(body["policy_arn"])
            if f"{var}.ManagedPolicyArns" in self.assigned:
                lines.append(f"    {var}.ManagedPolicyArns.append({arn})")
            else:
                self.assigned.add(f"{var}.ManagedPolicyArns")
                lines.append(f"    {var}.ManagedPolicyArns = [{arn}]")
        elif kind == "aws_eks_access_policy_association":
            scope = body["access_scope"]
            policy = (
                f"eks.AccessPolicy(PolicyArn={self.scalar(body['policy_arn'])}, "
                f"AccessScope=eks.AccessScope(Type={py_string(scope['type'])}"
                + (f", Namespaces={scope['namespaces']!r}" if scope.get("namespaces") else "")
                + "))"
            )
            if f"{var}.AccessPolicies" in self.assigned:
                lines.append(f"    {var}.AccessPolicies.append({policy})")
            else:
                self.assigned.add(f"{var}.AccessPolicies")
                lines.append(f"    {var}.AccessPolicies = [{policy}]")
        elif kind == "aws_secretsmanager_secret_version":
            text = str(body.get("secret_string", body.get("secret_string_wo")))
            drawn = REF.fullmatch(text)
            if drawn and drawn.group(1) == "ephemeral.aws_secretsmanager_random_password":
                # Drawn at apply time: CloudFormation has the secret generate it.
                settings = self.ephemerals.pop(drawn.group(2))
                self.folded["ephemeral aws_secretsmanager_random_password"] = (
                    self.folded.get("ephemeral aws_secretsmanager_random_password", 0) + 1
                )
                generated = kwargs([(camel(k), repr(v)) for k, v in settings.items() if k not in SKIP_KEYS])
                lines.append(f"    {var}.GenerateSecretString = secretsmanager.GenerateSecretString({generated})")
                return True
            doc = json_document(text)
            value = f"Sub(json.dumps({self.document_for_sub(doc)}))" if doc is not None else self.scalar(text)
            lines.append(f"    {var}.SecretString = {value}")
        self.modules.add(
            {"aws_iam_role_policy_attachment": "iam", "aws_eks_access_policy_association": "eks"}.get(kind, "s3")
        )
        return True

    def document_for_sub(self, value: Any) -> str:
        """A JSON document whose strings carry ${...} for Sub (a secret's value is one string in CloudFormation)."""
        if isinstance(value, dict):
            return "{" + ", ".join(f"{py_string(k)}: {self.document_for_sub(v)}" for k, v in value.items()) + "}"
        if isinstance(value, list):
            return "[" + ", ".join(self.document_for_sub(v) for v in value) + "]"
        if isinstance(value, str):
            out, last = "", 0
            for match in REF.finditer(value):
                name = self.sub_name(match.group(1) + "." + match.group(2), match.group(3))
                out += value[last : match.start()].replace("${", "${!")
                out += "${" + name + "}" if name else match.group(0).replace("${", "${!")
                last = match.end()
            return py_string(out + value[last:].replace("${", "${!"))
        return repr(value)

    # ---- stacks

    def stack(self, name: str, stack: dict[str, dict[str, Any]]) -> list[str]:
        self.defined, self.logical, self.kinds = {}, {}, {}
        self.assigned: set[str] = set()
        self.ephemerals: dict[str, dict[str, Any]] = {}
        lines = [
            f"def build_{name}() -> Template:",
            f"    t = Template(Description={py_string(f'tmsc example, {name} (troposphere equivalent)')})",
        ]
        for section, kind, block_name, body in blocks_in_order(stack):
            key = f"{kind}.{block_name}"
            if section == "ephemeral" and kind == "aws_secretsmanager_random_password":
                self.ephemerals[block_name] = body
                continue
            if section != "resource":
                self.left_out[f"{section} {kind}"] = self.left_out.get(f"{section} {kind}", 0) + 1
                continue
            if kind in FOLDED:
                if self.fold(kind, body, lines):
                    self.folded[kind] = self.folded.get(kind, 0) + 1
                else:
                    self.left_out[kind] = self.left_out.get(kind, 0) + 1
                continue
            dotted = CFN_TYPES.get(kind)
            if dotted is None:
                self.left_out[kind] = self.left_out.get(kind, 0) + 1
                continue
            var, logical = variable(kind, block_name), logical_id(kind, block_name)
            self.defined[key], self.logical[key], self.kinds[key] = var, logical, kind
            construct = self.construct(self.cls(dotted), reshape(kind, json.loads(json.dumps(body))), kind, logical)
            lines.append(f"    {var} = t.add_resource({construct})")
            if kind == "aws_internet_gateway" and "vpc_id" in body:
                self.modules.add("ec2")
                self.extra["AWS::EC2::VPCGatewayAttachment"] = self.extra.get("AWS::EC2::VPCGatewayAttachment", 0) + 1
                lines.append(
                    f"    t.add_resource(ec2.VPCGatewayAttachment({py_string(logical + 'Attachment')}, "
                    f"VpcId={self.scalar(body['vpc_id'])}, InternetGatewayId=Ref({var})))"
                )
        for output, body in stack.get("output", {}).items():
            value = body.get("value")
            # A CloudFormation output is one string: a map becomes one output per key.
            values = {"": value} if isinstance(value, str) else value if isinstance(value, dict) else {}
            for key, item in values.items():
                args = [f"Value={self.scalar(item)}"]
                if body.get("description"):
                    args.append(f"Description={py_string(body['description'])}")
                lines.append(f"    t.add_output(Output({py_string(camel(output) + camel(key))}, {', '.join(args)}))")
        for _ in self.ephemerals:
            key = "ephemeral aws_secretsmanager_random_password"
            self.left_out[key] = self.left_out.get(key, 0) + 1
        lines += ["    return t", "", ""]
        return lines

    def program(self, stacks: dict[str, dict[str, dict[str, Any]]]) -> str:
        functions: list[str] = []
        for name, stack in stacks.items():
            functions += self.stack(name, stack)
        summary = {
            "left_out": self.left_out,
            "folded_into_properties": self.folded,
            "added": self.extra,
            "arguments_carried": self.carried,
            "arguments_dropped": sum(self.dropped.values()),
        }
        head = [
            '"""Generated by bench/equivalents/generate.py from out/: tmsc\'s compiled example with troposphere."""',
            "",
            "import json",
            "import sys",
            "from pathlib import Path",
            "",
            f"from troposphere import GetAtt, Output, Ref, Sub, Tags, Template, {', '.join(sorted(self.modules))}",
            "",
            "",
        ]
        main = [
            "def main() -> None:",
            "    out = Path(sys.argv[1])",
            "    out.mkdir(parents=True, exist_ok=True)",
            "    resources = 0",
            f"    for name, build in {{{', '.join(f'{n!r}: build_{n}' for n in stacks)}}}.items():",
            "        template = build()",
            '        (out / f"{name}.template.json").write_text(template.to_json() + "\\n")',
            "        resources += len(template.resources)",
            f'    print(f"resources={{resources}}", {py_string(json.dumps(summary, sort_keys=True))})',
            "",
            "",
            'if __name__ == "__main__":',
            "    main()",
        ]
        return "\n".join(head + functions + main) + "\n"


def main() -> int:
    if len(sys.argv) != 4 or sys.argv[1] not in ("troposphere", "terrascript"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    library, out, program = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    stacks = read_stacks(out)
    writer = TroposphereWriter() if library == "troposphere" else TerrascriptWriter()
    program.parent.mkdir(parents=True, exist_ok=True)
    program.write_text(writer.program(stacks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
