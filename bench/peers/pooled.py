"""Peer B, pooled: the Azure SDK for Python with efficient listings and a pool of worker threads.

The shape of the popular multi-cloud scanners: a thread pool (10 workers) over subscriptions;
per subscription the VM listing (the model) and the VM listing with statusOnly=true (the power
state; ARM's statusOnly listing need not carry the model, so the two are joined by id, as
scready does), one scale-set listing, one storage-account listing; per Uniform scale set one instance listing with
$expand=instanceView. Storage accounts are then resolved by blob host across every visible
subscription. Writes the configuration verdicts described in common.py.
"""

import time
from concurrent.futures import ThreadPoolExecutor

import common


def read_subscription(azure, pool, sub):
    compute = azure.compute(sub)
    storage = azure.storage(sub)
    models = list(compute.virtual_machines.list_all())
    views = {vm.id.lower(): getattr(vm, "instance_view", None)
             for vm in compute.virtual_machines.list_all(status_only="true")}
    vms = [(vm, views.get(vm.id.lower())) for vm in models]
    scale_sets = [
        ss for ss in compute.virtual_machine_scale_sets.list_all()
        if (getattr(ss, "orchestration_mode", None) or "").lower() != "flexible"
    ]
    instance_lists = [
        pool.submit(lambda ss=ss: list(compute.virtual_machine_scale_set_vms.list(
            ss.id.split("/")[4], ss.name, expand="instanceView")))
        for ss in scale_sets
    ]
    accounts = list(storage.storage_accounts.list())
    return vms, instance_lists, accounts


def main():
    args = common.parse_args(__doc__.splitlines()[0])
    started = time.monotonic()
    azure = common.Azure(args)
    subscriptions = azure.subscriptions()
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        # Subscriptions first, then the scale-set instance listings they queue behind them.
        per_sub = list(pool.map(lambda s: read_subscription(azure, pool, s), subscriptions))
        judged = []
        by_host = {}
        for vms, instance_lists, accounts in per_sub:
            for account in accounts:
                by_host[common.account_blob_host(account)] = account
            for vm, view in vms:
                judged.append(common.Instance(
                    vm.id, vm.location, common.boot_diagnostics(vm),
                    getattr(view, "statuses", None), view is not None))
            for future in instance_lists:
                for inst in future.result():
                    view = getattr(inst, "instance_view", None)
                    judged.append(common.Instance(
                        inst.id, inst.location, common.boot_diagnostics(inst),
                        getattr(view, "statuses", None), view is not None, uniform=True,
                        latest_model_applied=getattr(inst, "latest_model_applied", None)))
    instances = [i.id for i in judged]
    verdicts = {i.id: common.judge(i, by_host.get) for i in judged}
    common.write_result(args.out, "peer-b-pooled", started, instances, verdicts)


if __name__ == "__main__":
    main()
