"""Regional DR of the attachments and the secrets on moto 5.2.5: S3 replication
configurations read back as written, and Secrets Manager replicas under the key
they were given.

Kept apart from patches.py (same style: each docstring says what AWS does and
why the patch matches it); ``apply_patches()`` there calls
``apply_replication_patches()``. Found by reading moto 5.2.5's
``s3/responses.py`` (``get_bucket_replication``) and
``secretsmanager/models.py`` (``ReplicaSecret``), then confirmed with
tests/emulator/test_replication_patch.py.

What these patches do not do: moto stores a replication configuration but
never copies an object to the destination bucket, and it has no replication
metrics or Replication Time Control behind the settings. The emulator proves
that Terraform applies and re-plans the configuration; that S3 replicates
within RTC's 15 minutes is AWS's published objective (compiler/tmsc/data/
disaster_recovery.json), not something a test here can show.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()
_applied = False


def patch_s3_replication_read_back() -> None:
    """GetBucketReplication returns every rule as PutBucketReplication stored it.

    AWS: GetBucketReplication returns the configuration as put: each rule's
    ``ID``, ``Priority``, ``Status``, ``Filter``, ``DeleteMarkerReplication``,
    ``SourceSelectionCriteria`` (``SseKmsEncryptedObjects``, needed to
    replicate SSE-KMS objects), ``ExistingObjectReplication`` and
    ``Destination`` (with ``EncryptionConfiguration``, ``ReplicationTime`` and
    ``Metrics``).

    moto 5.2.5 stores the whole rule but answers with ``ID``, ``Priority``,
    ``Status`` and ``Destination`` only, forcing ``DeleteMarkerReplication``
    to Disabled and ``Filter`` to an empty prefix. The provider then plans to
    add ``source_selection_criteria`` on every run. The patch answers with the
    stored elements; a rule stored without a filter (or with an empty one)
    still reads back as moto answered it, ``{"Prefix": ""}``, which is how the
    provider reads an empty filter.
    """
    from moto.core.common_types import TYPE_RESPONSE
    from moto.core.responses import ActionResult
    from moto.s3.exceptions import ReplicationConfigurationNotFoundError
    from moto.s3.responses import S3Response

    optional = ("SourceSelectionCriteria", "ExistingObjectReplication")

    def get_bucket_replication(self: Any) -> str | TYPE_RESPONSE:
        self.data["Action"] = "GetBucketReplication"
        replication = self.backend.get_bucket_replication(self.bucket_name)
        if not replication:
            raise ReplicationConfigurationNotFoundError(bucket_name=self.bucket_name)
        rules = []
        for stored in replication["Rule"]:
            rule = {
                "ID": stored["ID"],
                "Priority": stored["Priority"],
                "Status": stored["Status"],
                "DeleteMarkerReplication": stored.get("DeleteMarkerReplication") or {"Status": "Disabled"},
                "Filter": stored.get("Filter") or {"Prefix": ""},
                "Destination": stored["Destination"],
            }
            rule.update({key: stored[key] for key in optional if stored.get(key)})
            rules.append(rule)
        return self.serialized(
            ActionResult({"ReplicationConfiguration": {"Role": replication["Role"], "Rules": rules}})
        )

    get_bucket_replication.__tmsc_patched__ = True  # type: ignore[attr-defined]
    S3Response.get_bucket_replication = get_bucket_replication  # type: ignore[method-assign]


def patch_secretsmanager_replica_kms_key() -> None:
    """A replica secret reports the KMS key it was created under.

    AWS: CreateSecret and ReplicateSecretToRegions take ``AddReplicaRegions``
    entries of ``Region`` and ``KmsKeyId`` (a key of that region; the default
    ``aws/secretsmanager`` key when absent), and DescribeSecret's
    ``ReplicationStatus`` reports each replica's ``KmsKeyId``.

    moto 5.2.5 reports ``alias/aws/secretsmanager`` for every replica whatever
    it was given, so the provider plans to change ``replica.kms_key_id`` on
    every run. The patch keeps the key given (the default alias when none was).
    """
    from moto.secretsmanager.models import FakeSecret

    def factory(orig: Callable[..., Any]) -> Callable[..., Any]:
        def create_replicas(self: Any, replica_regions: list[dict[str, str]], force_overwrite: bool) -> Any:
            replicas = orig(self, replica_regions, force_overwrite=force_overwrite)
            keys = {config["Region"]: config.get("KmsKeyId") for config in replica_regions or []}
            for replica in replicas:
                if keys.get(replica.region):
                    replica.config["KmsKeyId"] = keys[replica.region]
            return replicas

        return create_replicas

    original = FakeSecret.create_replicas
    wrapped = factory(original)
    wrapped.__tmsc_patched__ = True  # type: ignore[attr-defined]
    FakeSecret.create_replicas = wrapped  # type: ignore[method-assign]


def apply_replication_patches() -> None:
    """Apply both patches once (idempotent, thread-safe); patches.py checks the moto version first."""
    global _applied
    with _lock:
        if _applied:
            return
        patch_s3_replication_read_back()
        patch_secretsmanager_replica_kms_key()
        _applied = True
