"""What both peers share: sign-in, SDK clients, and the configuration checks they implement.

The peers judge each instance on the configuration checks below, with the same outcome scready
reports for them under its built-in policy ("fail" for an error-severity failure, "warn" for a
warning-severity one or a soft state, "unknown" when the data does not say). An instance whose
checks all pass is left out of a peer's output, as scready leaves it out of its findings.

Checks (ids as in scready's catalogue):
  boot-diagnostics-disabled      no diagnosticsProfile, or bootDiagnostics not enabled
  vmss-instance-outdated         a Uniform instance with latestModelApplied false (unknown: absent)
  vm-not-running                 stopped/deallocated/deallocating fail, starting/stopping warn,
                                 any other or no power state unknown
  storage-uri-not-https          custom storageUri with http://
  storage-account-not-visible    the storageUri's account is in no visible subscription
                                 (scready splits this into storage-account-not-found and
                                 storage-resource-group-unknown; the bench compares the union)
  storage-firewall               networkAcls.defaultAction Deny (warning)
  storage-hns-enabled            isHnsEnabled
  storage-shared-key-disabled    allowSharedKeyAccess false
  storage-region-mismatch        account and instance in different regions (warning)
  storage-min-tls                minimumTlsVersion TLS1_0 or TLS1_1 (warning)

Only GET requests are sent.
"""

import argparse
import json
import os
import sys
import time

from azure.identity import ClientSecretCredential
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.resource import SubscriptionClient
from azure.mgmt.storage import StorageManagementClient

ARM_SCOPE = "https://management.azure.com/.default"

CHECKS = [
    "boot-diagnostics-disabled",
    "vmss-instance-outdated",
    "vm-not-running",
    "storage-uri-not-https",
    "storage-account-not-visible",
    "storage-firewall",
    "storage-hns-enabled",
    "storage-shared-key-disabled",
    "storage-region-mismatch",
    "storage-min-tls",
]


def parse_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--endpoint", required=True, help="ARM endpoint and authority host (https)")
    p.add_argument("--ca", required=True, help="PEM of the CA to trust")
    p.add_argument("--tenant", required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--client-secret-env", default="PEER_CLIENT_SECRET",
                   help="environment variable holding the client secret")
    p.add_argument("--out", required=True, help="where to write the verdicts (JSON)")
    p.add_argument("--workers", type=int, default=10)
    args = p.parse_args()
    if not args.endpoint.startswith("https://"):
        sys.exit("the endpoint must use https")
    return args


class Azure:
    """Credential and client factories for one endpoint."""

    def __init__(self, args):
        secret = os.environ.get(args.client_secret_env)
        if not secret:
            sys.exit(f"{args.client_secret_env} is not set")
        self.endpoint = args.endpoint.rstrip("/")
        self.ca = args.ca
        self.credential = ClientSecretCredential(
            args.tenant,
            args.client_id,
            secret,
            authority=self.endpoint,
            disable_instance_discovery=True,
            connection_verify=self.ca,
        )
        self._common = dict(
            base_url=self.endpoint,
            credential_scopes=[ARM_SCOPE],
            connection_verify=self.ca,
        )

    def subscriptions(self):
        client = SubscriptionClient(self.credential, **self._common)
        return [s.subscription_id for s in client.subscriptions.list()]

    def compute(self, subscription_id):
        return ComputeManagementClient(self.credential, subscription_id, **self._common)

    def storage(self, subscription_id):
        return StorageManagementClient(self.credential, subscription_id, **self._common)


def blob_host(uri):
    """The blob host of a storageUri, lower case: scheme, path and trailing slashes dropped."""
    if not uri:
        return None
    u = uri.strip().lower()
    for scheme in ("https://", "http://"):
        if u.startswith(scheme):
            u = u[len(scheme):]
            break
    host = u.split("/", 1)[0].split("?", 1)[0]
    return host or None


def account_blob_host(account):
    endpoints = getattr(account, "primary_endpoints", None)
    blob = getattr(endpoints, "blob", None) if endpoints else None
    if blob:
        return blob_host(blob)
    return f"{account.name.lower()}.blob.core.windows.net"


def power_state(statuses):
    for s in statuses or []:
        code = getattr(s, "code", None) or ""
        if code.lower().startswith("powerstate/"):
            return code.split("/", 1)[1].lower()
    return None


def enum_text(x):
    """The wire value of an SDK enum member (or of a plain string)."""
    return None if x is None else str(getattr(x, "value", x))


def norm_region(r):
    return (r or "").strip().lower().replace(" ", "")


class Instance:
    """What the checks read about one VM or Uniform scale-set instance."""

    __slots__ = ("id", "location", "diagnostics", "statuses", "has_view", "uniform",
                 "latest_model_applied")

    def __init__(self, id, location, diagnostics, statuses, has_view, uniform=False,
                 latest_model_applied=None):
        self.id = id
        self.location = location
        self.diagnostics = diagnostics
        self.statuses = statuses
        self.has_view = has_view
        self.uniform = uniform
        self.latest_model_applied = latest_model_applied


def boot_diagnostics(model):
    """(enabled, storage_uri) from a model's diagnosticsProfile."""
    profile = getattr(model, "diagnostics_profile", None)
    bd = getattr(profile, "boot_diagnostics", None) if profile else None
    if bd is None:
        return (False, None)
    return (bool(getattr(bd, "enabled", False)), getattr(bd, "storage_uri", None))


def judge(inst, find_account):
    """Outcomes of the checks that did not pass, as {check id: fail|warn|unknown}.

    `find_account(host)` returns the storage account model with that blob host, or None.
    """
    out = {}
    enabled, uri = inst.diagnostics
    if not enabled:
        out["boot-diagnostics-disabled"] = "fail"
    if inst.uniform:
        if inst.latest_model_applied is False:
            out["vmss-instance-outdated"] = "fail"
        elif inst.latest_model_applied is None:
            out["vmss-instance-outdated"] = "unknown"
    p = power_state(inst.statuses)
    if p in ("stopped", "deallocated", "deallocating"):
        out["vm-not-running"] = "fail"
    elif p in ("starting", "stopping"):
        out["vm-not-running"] = "warn"
    elif p != "running":
        out["vm-not-running"] = "unknown"
    if enabled and uri:
        if uri.strip().lower().startswith("http://"):
            out["storage-uri-not-https"] = "fail"
        host = blob_host(uri)
        account = find_account(host) if host else None
        if account is None:
            out["storage-account-not-visible"] = "fail"
        else:
            acl = getattr(account, "network_rule_set", None)
            action = getattr(acl, "default_action", None) if acl else None
            if (enum_text(action) or "").lower() == "deny":
                out["storage-firewall"] = "warn"
            if getattr(account, "is_hns_enabled", None) is True:
                out["storage-hns-enabled"] = "fail"
            if getattr(account, "allow_shared_key_access", None) is False:
                out["storage-shared-key-disabled"] = "fail"
            a, b = norm_region(account.location), norm_region(inst.location)
            if not a or not b:
                out["storage-region-mismatch"] = "unknown"
            elif a != b:
                out["storage-region-mismatch"] = "warn"
            tls = getattr(account, "minimum_tls_version", None)
            if enum_text(tls) in ("TLS1_0", "TLS1_1"):
                out["storage-min-tls"] = "warn"
    return out


def write_result(path, tool, started, instances, verdicts):
    """Writes the peer's verdicts: every instance id (lower case), and the failing checks."""
    doc = {
        "tool": tool,
        "checks": CHECKS,
        "seconds": time.monotonic() - started,
        "instances": sorted(i.lower() for i in instances),
        "verdicts": {k.lower(): v for k, v in verdicts.items() if v},
    }
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f)
    os.replace(tmp, path)
