"""Peer A, naive: what an operator typically writes with the Azure SDK for Python.

Sequential: per subscription, list the VMs and get each VM's instance view; list the scale sets,
their instances, and each instance's instance view; per boot-diagnostics storage account (once
per account name), look for the account in the VM's own subscription, then in every other one.
Writes the configuration verdicts described in common.py.
"""

import time

import common


def main():
    args = common.parse_args(__doc__.splitlines()[0])
    started = time.monotonic()
    azure = common.Azure(args)
    subscriptions = azure.subscriptions()
    accounts = {}  # blob host -> account model or None

    def find_account(host, own_subscription):
        if host in accounts:
            return accounts[host]
        found = None
        order = [own_subscription] + [s for s in subscriptions if s != own_subscription]
        for sub in order:
            for account in azure.storage(sub).storage_accounts.list():
                if common.account_blob_host(account) == host:
                    found = account
                    break
            if found is not None:
                break
        accounts[host] = found
        return found

    instances = []
    verdicts = {}
    for sub in subscriptions:
        compute = azure.compute(sub)
        judged = []
        for vm in compute.virtual_machines.list_all():
            rg = vm.id.split("/")[4]
            view = compute.virtual_machines.instance_view(rg, vm.name)
            judged.append(common.Instance(
                vm.id, vm.location, common.boot_diagnostics(vm),
                getattr(view, "statuses", None), view is not None))
        for ss in compute.virtual_machine_scale_sets.list_all():
            if (getattr(ss, "orchestration_mode", None) or "").lower() == "flexible":
                continue  # Flexible members are listed as VMs above
            rg = ss.id.split("/")[4]
            for inst in compute.virtual_machine_scale_set_vms.list(rg, ss.name):
                view = compute.virtual_machine_scale_set_vms.get_instance_view(
                    rg, ss.name, inst.instance_id)
                judged.append(common.Instance(
                    inst.id, inst.location, common.boot_diagnostics(inst),
                    getattr(view, "statuses", None), view is not None, uniform=True,
                    latest_model_applied=getattr(inst, "latest_model_applied", None)))
        for inst in judged:
            instances.append(inst.id)
            verdicts[inst.id] = common.judge(inst, lambda h, s=sub: find_account(h, s))
    common.write_result(args.out, "peer-a-naive", started, instances, verdicts)


if __name__ == "__main__":
    main()
