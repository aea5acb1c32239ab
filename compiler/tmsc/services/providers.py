"""The terraform and provider blocks, the remote-state backend and the data sources every stack reads."""

from __future__ import annotations

from tmsc.ir import Block, DataSource, Provider, Settings
from tmsc.model import Platform, default_state_bucket

REQUIRED_TERRAFORM = ">= 1.11"  # write-only arguments and ephemeral resources need 1.11
AWS_PROVIDER_VERSION = "~> 5.100"
MANAGED_BY = "tmsc"
DR_ALIAS = "dr"
DR_PROVIDER = f"aws.{DR_ALIAS}"  # the disaster-recovery region, for replicated backups


BOOTSTRAP = "bootstrap"


def accounts(platform: Platform) -> dict[str | None, tuple[str, ...]]:
    """AWS account ID (None: not named, one shared account) → its environments, sorted.

    Each account holds the state of its own environments and their CI roles (a bootstrap stack per account): no
    role of one account reads or writes another account's state, so an environment's account is its boundary.
    """
    found: dict[str | None, list[str]] = {}
    for name, env in sorted(platform.environments.items()):
        found.setdefault(env.aws_account_id, []).append(name)
    return {account: tuple(names) for account, names in sorted(found.items(), key=lambda item: item[0] or "")}


def account_of(platform: Platform, stack: str) -> str | None:
    """The account a stack (an environment or a bootstrap stack) is applied to; None when the spec names none."""
    if stack in platform.environments:
        return platform.environments[stack].aws_account_id
    named = [account for account in accounts(platform) if account and stack == bootstrap_stack(platform, account)]
    return named[0] if named else None


def bootstrap_stack(platform: Platform, account: str | None) -> str:
    """out/bootstrap/ for one account (named or not); out/bootstrap-<account id>/ for each of several."""
    return BOOTSTRAP if len(accounts(platform)) == 1 else f"{BOOTSTRAP}-{account}"


def state_bucket_name(platform: Platform, account: str | None = None) -> str:
    """The state bucket of the account holding `account`'s environments (of the one account, with None)."""
    if platform.state.bucket:
        return platform.state.bucket
    several = len(accounts(platform)) > 1
    return default_state_bucket(platform.platform, platform.region, account if several else None)


def lock_table_name(platform: Platform) -> str:
    return platform.state.lock_table or f"{platform.platform}-tfstate-locks"


def state_key_alias(platform: Platform) -> str:
    """The alias of the CMK encrypting the state bucket and lock table (created by the bootstrap stack)."""
    return f"alias/{platform.platform}-tfstate"


def state_key(platform: Platform, stack: str) -> str:
    return f"{platform.platform}/{stack}/terraform.tfstate"


def settings(platform: Platform, stack: str, remote_state: bool) -> Settings:
    body: dict[str, object] = {
        "required_version": REQUIRED_TERRAFORM,
        "required_providers": {"aws": {"source": "hashicorp/aws", "version": AWS_PROVIDER_VERSION}},
    }
    if remote_state:
        body["backend"] = {
            "s3": {
                # The bucket of the environment's own account: its credentials reach its state and nothing else.
                "bucket": state_bucket_name(platform, account_of(platform, stack)),
                "key": state_key(platform, stack),
                "region": platform.region,
                "encrypt": True,
                # Without a key, `encrypt` asks S3 for AES256 on every write, which
                # overrides the bucket's default: name the bootstrap's CMK instead.
                "kms_key_id": state_key_alias(platform),
                # Both lock mechanisms: the S3 lockfile is the current one, the
                # DynamoDB table what existing tooling and runbooks expect.
                "use_lockfile": True,
                "dynamodb_table": lock_table_name(platform),
            }
        }
    return Settings(body)


def aws_provider(platform: Platform, stack: str, region: str, alias: str | None = None) -> Provider:
    body: dict[str, object] = {
        "region": region,
        "default_tags": {"tags": {"platform": platform.platform, "environment": stack, "managed-by": MANAGED_BY}},
    }
    account = account_of(platform, stack)
    if account:
        # Credentials of any other account fail before the first call: a stack cannot be applied to the wrong account.
        body["allowed_account_ids"] = [account]
    if alias:
        body["alias"] = alias
    return Provider("aws", body)


def common_data() -> tuple[DataSource, DataSource]:
    return (
        DataSource("aws_caller_identity", "current", {}),
        DataSource("aws_partition", "current", {}),
    )


def emit_providers(
    platform: Platform, stack: str, remote_state: bool, dr_region: str | None = None
) -> tuple[Block, ...]:
    providers = [aws_provider(platform, stack, platform.region)]
    if dr_region:
        providers.append(aws_provider(platform, stack, dr_region, DR_ALIAS))
    return (settings(platform, stack, remote_state), *providers, *common_data())
