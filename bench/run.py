"""The benchmark: scready against the peers on simulator fleets (see bench/README.md).

Per scenario: generate the fleet (fixed seed) and its answer key, then for every tool and run
start a fresh simulator with the same settings, run the tool, read the simulator's counters and
request log, stop the simulator. Verdicts are compared before any timing is reported: scready's
with the answer key `scready sim generate` wrote beside the fleet (what a correct scanner
concludes, from the conditions the generator injected), and the peers' with scready's. Prints a
table and writes bench/results.json. Talks only to the simulator on 127.0.0.1.
"""

import argparse
import csv
import glob
import json
import os
import platform
import re
import signal
import ssl
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dashboard  # noqa: E402  (bench/dashboard.py)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.path.join(HERE, ".work")
SCREADY = os.path.join(ROOT, "target", "release", "scready")
PEERS = os.path.join(HERE, "peers")

# The scanner service principal of every generated fleet (sim/src/generate.rs). The secret is
# a simulator credential only: it grants nothing in Azure.
CLIENT_ID = "5ca11ab1-5ca1-4ead-8e1d-00000000c0de"
CLIENT_SECRET = "sim-only-secret-scready-scanner"

SCENARIOS = {
    # A smoke run of the harness itself (`--scenarios T`), not part of the report.
    "T": dict(subscriptions=3, vms=40, scale_sets=1, per_set=10, seed=103),
    "S": dict(subscriptions=20, vms=400, scale_sets=1, per_set=100, seed=101),
    "L": dict(subscriptions=1000, vms=80, scale_sets=1, per_set=20, seed=102),
}
LATENCY_MS, JITTER_MS = 30, 10
THROTTLE_BURST, THROTTLE_REFILL = 250, 25
PAGE_SIZE = 1000

TARGETS = {
    "L_lower_bound_ratio": 1.5,
    "L_throttled": 0,
    "L_peer_b_ratio": 20,
    "S_peer_a_ratio": 200,
    "evaluate_1m_seconds": 2.0,
    "L_report_html_mb": 25,
    "L_report_json_mb": 60,
    "L_history_growth_mb": 10,
    "L_cpu_seconds": 2.5,
    "L_peak_rss_target_mb": 250,
    "L_peer_b_ratio_target": 25,
    "L_dashboard_first_rows_seconds": 3.0,
    "L_dashboard_search_seconds": 1.0,
}

# The configuration checks the peers implement (bench/peers/common.py); scready's two ids for
# an account that is in no visible subscription are compared as one.
COMPARED = {
    "boot-diagnostics-disabled": ["boot-diagnostics-disabled"],
    "vmss-instance-outdated": ["vmss-instance-outdated"],
    "vm-not-running": ["vm-not-running"],
    "storage-uri-not-https": ["storage-uri-not-https"],
    "storage-account-not-visible": ["storage-account-not-found", "storage-resource-group-unknown"],
    "storage-firewall": ["storage-firewall"],
    "storage-hns-enabled": ["storage-hns-enabled"],
    "storage-shared-key-disabled": ["storage-shared-key-disabled"],
    "storage-region-mismatch": ["storage-region-mismatch"],
    "storage-min-tls": ["storage-min-tls"],
}
RANK = {"unknown": 1, "warn": 2, "fail": 3}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def load():
    """Load averages and uptime, as /proc/loadavg and uptime(1) report them."""
    with open("/proc/loadavg") as f:
        parts = f.read().split()
    return {"load1": float(parts[0]), "load5": float(parts[1]), "load15": float(parts[2])}


class Sim:
    """A `scready sim serve` process with the benchmark's settings (or `extra` arguments)."""

    def __init__(self, fleet, seed, extra=None):
        self.state = os.path.join(WORK, "sim-state")
        os.makedirs(self.state, exist_ok=True)
        cmd = [SCREADY, "sim", "serve", "--fleet", fleet, "--addr", "127.0.0.1:0",
               "--state-dir", self.state, "--page-size", str(PAGE_SIZE)]
        cmd += extra if extra is not None else [
            "--latency-ms", str(LATENCY_MS), "--jitter-ms", str(JITTER_MS),
            "--throttle-burst", str(THROTTLE_BURST),
            "--throttle-refill", str(THROTTLE_REFILL)]
        cmd += ["--seed", str(seed)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True)
        self.base = self.ca = self.tenant = None
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("the simulator stopped before it listened")
            m = re.match(r"scready simulator listening on (https://127\.0\.0\.1:\d+)", line)
            if m:
                self.base = m.group(1)
            m = re.match(r"CA certificate: (.+)$", line.strip())
            if m:
                self.ca = m.group(1)
            m = re.match(r"principal \S+ \(scready-scanner\): client id \S+, tenant (\S+)", line)
            if m:
                self.tenant = m.group(1)
            if line.startswith("serving until interrupted"):
                break
        if not (self.base and self.ca and self.tenant):
            raise RuntimeError("could not read the simulator's address, CA and tenant")
        self.ssl = ssl.create_default_context(cafile=self.ca)

    def get(self, path):
        with urllib.request.urlopen(self.base + path, context=self.ssl, timeout=120) as r:
            return json.load(r)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


# Runs one command and prints its exit code, wall time and rusage as JSON. It runs in a fresh,
# small interpreter because Linux carries a parent's RSS high-water mark into its child: at exec
# the kernel records the old (forked) address space's peak in the child's `ru_maxrss`, so a
# command started straight from this process, after it has read a 100,000-row CSV, would report
# this process's peak (300+ MB) instead of its own.
MEASURE = """
import json, os, subprocess, sys, time
with open(sys.argv[1], "w") as out:
    started = time.monotonic()
    proc = subprocess.Popen(sys.argv[2:], stdout=out, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
print(json.dumps({"code": os.waitstatus_to_exitcode(status), "wall": wall,
                  "maxrss_kb": usage.ru_maxrss, "cpu": usage.ru_utime + usage.ru_stime}))
"""


def run_measured(cmd, env, out_path):
    """Runs a command; returns (wall seconds, peak RSS in MB, exit code, CPU seconds: user +
    system, from wait4 in a small spawner process; see MEASURE)."""
    done = subprocess.run([sys.executable, "-I", "-S", "-c", MEASURE, out_path, *cmd], env=env,
                          stdout=subprocess.PIPE, text=True, check=True)
    m = json.loads(done.stdout)
    return m["wall"], m["maxrss_kb"] / 1024.0, m["code"], m["cpu"]


def report_sizes(out_dir):
    """The size in bytes of every report file a scan wrote into `out_dir`."""
    return {name: os.path.getsize(os.path.join(out_dir, name))
            for name in sorted(os.listdir(out_dir))
            if os.path.isfile(os.path.join(out_dir, name))}


def history_file(scenario):
    """The scenario's history database: the scenario's runs are its nights (the first has no
    previous night; the next ones diff against the one before, as a nightly audit does)."""
    return os.path.join(WORK, f"{scenario}-history.sqlite")


def scready_cmd(sim, out_dir, concurrency, scenario):
    cmd = [SCREADY, "scan", "--cloud", "custom", "--arm-endpoint", sim.base,
           "--ca-cert", sim.ca, "--auth", "client-secret", "--out", out_dir,
           "--history", history_file(scenario),
           "--no-network-probe", "--quiet", "--fail-on", "never"]
    if concurrency:
        cmd += ["--concurrency", str(concurrency)]
    env = dict(os.environ, AZURE_TENANT_ID=sim.tenant, AZURE_CLIENT_ID=CLIENT_ID,
               AZURE_CLIENT_SECRET=CLIENT_SECRET)
    return cmd, env


def peer_cmd(python, script, sim, out_file):
    cmd = [python, os.path.join(PEERS, script), "--endpoint", sim.base, "--ca", sim.ca,
           "--tenant", sim.tenant, "--client-id", CLIENT_ID, "--out", out_file]
    env = dict(os.environ, PEER_CLIENT_SECRET=CLIENT_SECRET, REQUESTS_CA_BUNDLE=sim.ca)
    # The peers must never reach a real endpoint: no proxy, and no managed-identity probing.
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(k, None)
    env["NO_PROXY"] = "127.0.0.1,localhost"
    return cmd, env


# ---------------------------------------------------------------------------------------------
# Verdicts


def scready_verdicts(out_dir):
    """{instance id: {compared check: outcome}} and the instance ids, from scready's CSVs."""
    reverse = {sid: key for key, ids in COMPARED.items() for sid in ids}
    instances = set()
    with open(os.path.join(out_dir, "instances.csv"), newline="") as f:
        for row in csv.DictReader(f):
            instances.add(row["resource_id"].lower())
    verdicts = defaultdict(dict)
    with open(os.path.join(out_dir, "findings.csv"), newline="") as f:
        for row in csv.DictReader(f):
            key = reverse.get(row["check_id"])
            rid = row["resource_id"].lower()
            if key is None or rid not in instances:
                continue
            status = row["status"]
            if status not in RANK:
                raise SystemExit(f"unexpected status {status} for {row['check_id']} on {rid}")
            old = verdicts[rid].get(key)
            if old is None or RANK[status] > RANK[old]:
                verdicts[rid][key] = status
    return instances, dict(verdicts)


def answer_key_path(fleet):
    """Where `scready sim generate` writes the answer key of `fleet`: NAME.answer-key.json."""
    stem, _ = os.path.splitext(fleet)
    return stem + ".answer-key.json"


def key_verdicts(key_file):
    """{instance id: (verdict, blockers, warnings, unknowns)} from the answer key, for a scan
    that audits nobody's access (the scanner's application token), and the instances it hides."""
    with open(key_file) as f:
        key = json.load(f)
    expected, hidden = {}, set()
    for inst in key["instances"]:
        rid = inst["resource_id"].lower()
        if inst.get("not_listed"):
            hidden.add(rid)
            continue
        expected[rid] = (inst["verdict"], frozenset(inst["blockers"]),
                         frozenset(inst["warnings"]), frozenset(inst["unknowns"]))
    return expected, hidden, key.get("summary", {})


def scready_instance_verdicts(out_dir):
    """{instance id: (verdict, blockers, warnings, unknowns)} from scready's instances.csv."""
    got = {}
    with open(os.path.join(out_dir, "instances.csv"), newline="") as f:
        for row in csv.DictReader(f):
            def cells(column):
                return frozenset(x for x in row[column].split(";") if x)
            got[row["resource_id"].lower()] = (row["verdict"], cells("blockers"),
                                               cells("warnings"), cells("unknowns"))
    return got


def compare_with_key(out_dir, key_file):
    """Aborts, before any timing is reported, when scready's verdicts (or its blockers, warnings
    and unknowns) differ from the answer key for any instance."""
    expected, hidden, by_verdict = key_verdicts(key_file)
    got = scready_instance_verdicts(out_dir)
    problems = []
    for rid in sorted(set(expected) | set(got)):
        want, have = expected.get(rid), got.get(rid)
        if want == have:
            continue
        if want is None:
            why = "hidden by an outage" if rid in hidden else "not in the fleet"
            problems.append(f"{rid}: scready lists it ({have[0]}), the key says {why}")
        elif have is None:
            problems.append(f"{rid}: missing from scready's instances.csv (key: {want[0]})")
        else:
            parts = [f"{name} expected {sorted(w) if isinstance(w, frozenset) else w} "
                     f"got {sorted(h) if isinstance(h, frozenset) else h}"
                     for name, w, h in zip(("verdict", "blockers", "warnings", "unknowns"),
                                           want, have) if w != h]
            problems.append(f"{rid}: " + "; ".join(parts))
        if len(problems) >= 20:
            break
    if problems:
        raise SystemExit("VERDICTS DIFFER FROM THE ANSWER KEY (" + key_file + "), no timing "
                         "is reported:\n  " + "\n  ".join(problems))
    return {"instances": len(expected), "by_verdict": by_verdict}


def peer_verdicts(path):
    with open(path) as f:
        doc = json.load(f)
    return set(doc["instances"]), {k: v for k, v in doc["verdicts"].items() if v}


def compare(name, reference, other):
    """Aborts with the first differences when `other` disagrees with scready."""
    ref_instances, ref = reference
    instances, verdicts = other
    problems = []
    if ref_instances != instances:
        only_ref = sorted(ref_instances - instances)[:5]
        only_other = sorted(instances - ref_instances)[:5]
        problems.append(f"instance sets differ: {len(ref_instances)} vs {len(instances)}; "
                        f"only scready: {only_ref}; only {name}: {only_other}")
    for rid in sorted(ref_instances | instances):
        a, b = ref.get(rid, {}), verdicts.get(rid, {})
        if a != b:
            problems.append(f"{rid}: scready {a} vs {name} {b}")
            if len(problems) > 10:
                break
    if problems:
        raise SystemExit("VERDICTS DISAGREE (" + name + "), no timing is reported:\n  "
                         + "\n  ".join(problems))
    failing = sum(1 for v in ref.values() if v)
    return {"instances": len(ref_instances), "instances_with_findings": failing,
            "checks": sorted(COMPARED)}


# ---------------------------------------------------------------------------------------------
# The lower bound


SUBS_RE = re.compile(r"^/subscriptions/?$")
SUB_RE = re.compile(r"^/subscriptions/([^/]+)(/.*)?$")


def classify(path):
    """(subscription, chain, step) of an ARM request: which listing chain it belongs to."""
    p = path.split("?", 1)[0].lower().rstrip("/")
    if SUBS_RE.match(p):
        return None, "subscriptions", None
    m = SUB_RE.match(p)
    if not m:
        return None, "tenant:" + p, None
    sub, rest = m.group(1), m.group(2) or ""
    if rest.endswith("/providers/microsoft.compute/virtualmachinescalesets") and "/resourcegroups/" not in rest:
        return sub, "scale-sets", None
    if "/providers/microsoft.compute/virtualmachinescalesets/" in rest and rest.endswith("/virtualmachines"):
        return sub, "scale-set-instances", rest
    if rest.endswith("/providers/microsoft.compute/virtualmachines"):
        return sub, "vms", None
    if rest.endswith("/providers/microsoft.storage/storageaccounts"):
        return sub, "storage", None
    if "/providers/microsoft.authorization/roledefinitions/" in rest:
        return sub, "role-definition", rest
    if rest.endswith("/providers/microsoft.authorization/permissions"):
        return sub, "permissions", rest
    if rest.endswith("/providers/microsoft.authorization/roleassignments"):
        return sub, "role-assignments", None
    if rest.endswith("/providers/microsoft.authorization/denyassignments"):
        return sub, "deny-assignments", None
    if rest.endswith("/providers/microsoft.authorization/locks"):
        return sub, "locks", None
    return sub, "other:" + rest, rest


def lower_bound(records, concurrency):
    """The lower bound of a scan's wall time from its request log (see bench/README.md).

    Chains: the subscription listing's pages come first; in each subscription, every listing's
    pages follow one another; a scale set's instance listing follows the scale-set listing; a
    role definition follows its subscription's role-assignment listing; the permissions call at
    a subscription needs only the subscription, one at a resource group or resource needs that
    subscription's instance, storage and role-assignment listings.
    """
    arm = [r for r in records if r.get("number", 0) > 0]
    latency = LATENCY_MS / 1000.0
    pages = defaultdict(int)  # (sub, chain, step) -> requests
    for r in arm:
        pages[classify(r["path"])] += 1
    sub_pages = pages.pop((None, "subscriptions", None), 0)
    per_sub = defaultdict(dict)
    tenant_chain = 0
    for (sub, chain, step), n in pages.items():
        if sub is None:
            tenant_chain = max(tenant_chain, n)
            continue
        per_sub[sub][(chain, step)] = n
    longest = 0
    for sub, chains in per_sub.items():
        def length(name):
            return max((n for (c, _), n in chains.items() if c == name), default=0)
        vms, storage, ras = length("vms"), length("storage"), length("role-assignments")
        sets = length("scale-sets")
        instances = length("scale-set-instances")
        scale_chain = sets + instances
        depth = max(vms, storage, ras, length("deny-assignments"), length("locks"),
                    scale_chain, length("other:/providers/microsoft.serialconsole/consoleservices/default"))
        if length("role-definition"):
            depth = max(depth, ras + 1)
        for (c, step), n in chains.items():
            if c == "permissions":
                at_subscription = step == "/providers/microsoft.authorization/permissions"
                depth = max(depth, n if at_subscription else max(vms, scale_chain, storage, ras) + n)
            elif c.startswith("other:"):
                depth = max(depth, n)
        longest = max(longest, depth)
    chain_requests = sub_pages + max(longest, tenant_chain)
    # A subscription read more often than its bucket holds must also wait for refills.
    reads = defaultdict(int)
    for r in arm:
        if r.get("subscription"):
            reads[r["subscription"]] += 1
    refill_wait = max((max(0, n - THROTTLE_BURST) / THROTTLE_REFILL for n in reads.values()),
                      default=0.0)
    critical = chain_requests * latency
    throughput = len(arm) * latency / concurrency
    bound = max(critical, throughput, refill_wait)
    return {
        "seconds": bound,
        "critical_path_requests": chain_requests,
        "critical_path_seconds": critical,
        "throughput_seconds": throughput,
        "refill_wait_seconds": refill_wait,
        "requests": len(arm),
        "concurrency": concurrency,
        "mean_latency_ms_observed": statistics.fmean(r["latency_ms"] for r in arm) if arm else 0,
        "latency_ms_assumed": LATENCY_MS,
    }


# ---------------------------------------------------------------------------------------------


def default_concurrency():
    out = subprocess.run([SCREADY, "scan", "--help"], capture_output=True, text=True).stdout
    m = re.search(r"--concurrency <CONCURRENCY>.*?\[default: (\d+)\]", out, re.S)
    return int(m.group(1)) if m else None


def generate(name, spec):
    path = os.path.join(WORK, f"fleet-{name}.json")
    cmd = [SCREADY, "sim", "generate", "--subscriptions", str(spec["subscriptions"]),
           "--vms-per-subscription", str(spec["vms"]), "--scale-sets", str(spec["scale_sets"]),
           "--instances-per-scale-set", str(spec["per_set"]), "--seed", str(spec["seed"]),
           "--mix", os.path.join(HERE, "mix.toml"), "--out", path]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return path


def dashboard_queries(out_dir):
    """What the dashboard measurement types into the search box: one instance's name (from the
    middle of instances.csv: a search over every instance for one of them) and one
    subscription's display name (a search that matches many)."""
    with open(os.path.join(out_dir, "instances.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return []
    mid = rows[len(rows) // 2]
    return [mid["name"].lstrip("'"), mid["subscription_name"].lstrip("'")]


# The slow machine: the page's CPU four times slower (DevTools' CPU throttling).
DASHBOARD_SLOWDOWN = 4


def measure_dashboard(out_dir):
    """report.html's size and its render and search times in headless Chromium, as is and on a
    CPU DASHBOARD_SLOWDOWN times slower (None without Chromium or report.html)."""
    html = os.path.join(out_dir, "report.html")
    if not os.path.exists(html) or not dashboard.find_chromium():
        return None
    try:
        queries = dashboard_queries(out_dir)
        result = dashboard.measure(html, queries)
        result["slow"] = dashboard.measure(html, queries, cpu_slowdown=DASHBOARD_SLOWDOWN)
        return result
    except Exception as e:  # a measurement that failed is reported, not fatal
        return {"error": str(e), "bytes": os.path.getsize(html)}


def measure(tool, fleet, runs, seed, python, concurrency, scenario, keep=True, first=1,
            measure_html=True):
    """Runs one tool `runs` times, each on a fresh simulator. Outputs are kept when `keep`
    (the verdict runs), else removed (scready's reports on L take several hundred MB). Each
    scready run's dashboard is measured after its simulator stopped (`measure_html`)."""
    results = []
    for i in range(runs):
        sim = Sim(fleet, seed + i)
        try:
            tag = f"{scenario}-{tool}-{first + i}"
            out = os.path.join(WORK, tag)
            if tool == "scready":
                subprocess.run(["rm", "-rf", out])
                cmd, env = scready_cmd(sim, out, concurrency, scenario)
            else:
                script = {"peer_a": "naive.py", "peer_b": "pooled.py"}[tool]
                out = out + ".json"
                cmd, env = peer_cmd(python, script, sim, out)
            log(f"  {tag}: running")
            before = load()
            history = history_file(scenario)
            history_before = os.path.getsize(history) if os.path.exists(history) else 0
            wall, rss, code, cpu = run_measured(cmd, env, os.path.join(WORK, tag + ".log"))
            if code != 0:
                raise SystemExit(f"{tag} exited with {code}; see {os.path.join(WORK, tag + '.log')}")
            stats = sim.get("/_sim/stats")
            record = {
                "run": first + i,
                "wall_seconds": wall,
                "peak_rss_mb": rss,
                "arm_requests": stats["arm_requests"],
                "throttled_429": stats.get("by_status", {}).get("429", 0),
                "non_get_requests": stats["non_get_requests"],
                "peak_in_flight": stats.get("peak_in_flight"),
                "cpu_seconds": cpu,
                "load_before": before,
                "load_after": load(),
                "output": out,
            }
            if tool == "scready":
                record["report_bytes"] = report_sizes(out)
                # The history database of the scenario's nights: what this night added.
                record["history_bytes"] = os.path.getsize(history) if os.path.exists(history) else 0
                record["history_growth_bytes"] = record["history_bytes"] - history_before
                record["history_first_night"] = history_before == 0
            if stats["non_get_requests"]:
                raise SystemExit(f"{tag} sent {stats['non_get_requests']} non-GET requests")
            if tool == "scready":
                record["lower_bound"] = lower_bound(sim.get("/_sim/requests"), concurrency)
            log(f"  {tag}: {wall:.2f} s, {cpu:.2f} CPU-s, {stats['arm_requests']} requests, "
                f"{record['throttled_429']} x 429, {rss:.0f} MB")
            if tool == "scready":
                log(f"  {tag}: " + ", ".join(f"{n} {b / 1e6:.1f} MB"
                                             for n, b in record["report_bytes"].items())
                    + f"; history +{record['history_growth_bytes'] / 1e6:.2f} MB"
                    + (" (first night)" if record["history_first_night"] else ""))
        finally:
            sim.stop()
        if tool == "scready" and measure_html:
            record["dashboard"] = d = measure_dashboard(out)
            if d and "error" not in d:
                for m, what in ((d, ""), (d["slow"], f" ({DASHBOARD_SLOWDOWN}x slower CPU)")):
                    log(f"  {tag}: report.html {m['bytes'] / 1e6:.1f} MB{what}, first rows after "
                        f"{m['first_rows_ms'] / 1000:.2f} s, search "
                        + ", ".join(f"{s['query']!r} {s['search_ms']:.0f} ms ({s['shown']:,} shown)"
                                    for s in m["searches"]))
            elif d:
                log(f"  {tag}: dashboard not measured: {d['error']}")
        if not keep:
            subprocess.run(["rm", "-rf", out])
            record["output"] = None
        results.append(record)
    return results


def summary(runs):
    walls = [r["wall_seconds"] for r in runs]
    s = {
        "runs": len(runs),
        "wall_seconds_median": statistics.median(walls),
        "wall_seconds_all": walls,
        "arm_requests": max(r["arm_requests"] for r in runs),
        "throttled_429": max(r["throttled_429"] for r in runs),
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "cpu_seconds_median": statistics.median(r["cpu_seconds"] for r in runs),
    }
    sizes = [r["report_bytes"] for r in runs if r.get("report_bytes")]
    if sizes:
        s["report_bytes"] = {n: max(x.get(n, 0) for x in sizes) for n in sizes[-1]}
    # A night's growth of the history, nights after the first (the first stores every instance
    # once; a nightly's cost is what each later night adds).
    growth = [r["history_growth_bytes"] for r in runs
              if "history_growth_bytes" in r and not r["history_first_night"]]
    if growth:
        s["history_growth_bytes_median"] = statistics.median(growth)
    boards = [r["dashboard"] for r in runs if r.get("dashboard") and "error" not in r["dashboard"]]
    if boards:
        def medians(ms):
            return {
                "first_rows_seconds_median": statistics.median(m["first_rows_ms"] for m in ms) / 1000,
                "search_seconds_median": statistics.median(
                    max(x["search_ms"] for x in m["searches"]) for m in ms) / 1000
                if all(m["searches"] for m in ms) else None,
            }
        s["dashboard"] = dict(
            runs=len(boards),
            report_html_bytes=max(b["bytes"] for b in boards),
            rows_in_dom=max(b["rows_in_dom"] for b in boards),
            cpu_slowdown=DASHBOARD_SLOWDOWN,
            slow=medians([b["slow"] for b in boards]),
            **medians(boards))
    bounds = [r["lower_bound"] for r in runs if "lower_bound" in r]
    if bounds:
        median_run = sorted(runs, key=lambda r: r["wall_seconds"])[len(runs) // 2]
        s["lower_bound"] = median_run["lower_bound"]
        s["lower_bound_ratio"] = s["wall_seconds_median"] / s["lower_bound"]["seconds"]
    return s


# Compute's own throttle: one subscription of 2,000 Uniform scale sets of 5 instances under a
# policy of 300 calls per window. The window is 18 s here instead of Azure's 3 minutes (policy
# `HighCostGet18Sec`; scready reads a window from the policy's name, `3Min` in Azure), so that
# what takes 20 minutes takes 2; at 300 per 18 s (17 per second) Compute still binds before
# scready's own ARM read budget (20 per second per subscription), as it does in Azure.
COMPUTE = dict(scale_sets=2000, per_set=5, limit=300, window_secs=18, seed=104)


def compute_bench(concurrency):
    spec = COMPUTE
    path = os.path.join(WORK, "fleet-compute.json")
    subprocess.run([SCREADY, "sim", "generate", "--subscriptions", "1",
                    "--vms-per-subscription", "0", "--scale-sets", str(spec["scale_sets"]),
                    "--instances-per-scale-set", str(spec["per_set"]), "--seed",
                    str(spec["seed"]), "--mix", os.path.join(HERE, "mix.toml"), "--out", path],
                   check=True, stdout=subprocess.DEVNULL)
    policy = f"Microsoft.Compute/HighCostGet{spec['window_secs']}Sec"
    # ARM's own read budget is not what this measures: only Compute's policies throttle.
    sim = Sim(path, spec["seed"], extra=[
        "--no-throttle", "--compute-policy", f"{policy}:{spec['limit']}:{spec['window_secs']}",
        "--compute-policy", f"Microsoft.Compute/HighCostGet30Sec:{spec['limit'] * 20}:30"])
    try:
        out_dir = os.path.join(WORK, "out-compute")
        cmd, env = scready_cmd(sim, out_dir, concurrency, "compute")
        cmd += ["--no-history", "--format", "csv"]
        cmd.remove("--history")
        cmd.remove(history_file("compute"))
        wall, rss, code, _cpu = run_measured(cmd, env, os.path.join(WORK, "compute.log"))
        stats = sim.get("/_sim/stats")
        calls = sum(1 for r in sim.get("/_sim/requests")
                    if "/virtualMachines?" in r["path"] or "/virtualMachines/" in r["path"])
    finally:
        sim.stop()
    with open(os.path.join(out_dir, "instances.csv")) as f:
        instances = sum(1 for _ in f) - 1
    allowed = spec["window_secs"] * calls / spec["limit"]
    result = {
        "fleet": spec, "exit_code": code, "instances": instances,
        "compute_calls": calls, "wall_seconds": wall, "allowed_seconds": allowed,
        "ratio": wall / allowed, "compute_429s": sum(stats.get("compute_throttled", {}).values()),
        "peak_rss_mb": rss,
    }
    log(f"  compute throttle: {instances:,} instances, {calls:,} Compute calls in {wall:.1f} s, "
        f"the policy allows {allowed:.1f} s ({result['ratio']:.2f}x), "
        f"{result['compute_429s']} Compute 429s")
    return result


def evaluate_bench():
    log("evaluate: 1,000,000 instances (cargo bench --bench evaluate)")
    inventory = os.path.join(WORK, "inventory-1m.json")
    out = subprocess.run(["cargo", "bench", "--bench", "evaluate", "--", "--json",
                          "--inventory", inventory], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit("the evaluate bench failed:\n" + out.stderr[-3000:])
    line = [l for l in out.stdout.splitlines() if l.startswith("{")][-1]
    return json.loads(line)


def fmt_ratio(x):
    return "-" if x is None else (f"{x:,.0f}x" if x >= 10 else f"{x:.2f}x")


def table(results):
    rows = []
    head = ("scenario", "tool", "wall s (median)", "runs", "ARM requests", "429s",
            "peak RSS MB", "lower bound s", "vs lower bound", "peer / scready")
    rows.append(head)
    for name, sc in results["scenarios"].items():
        base = sc["tools"]["scready"]["wall_seconds_median"]
        for tool in ("scready", "peer_a", "peer_b"):
            t = sc["tools"].get(tool)
            if t is None:
                continue
            lb = t.get("lower_bound")
            rows.append((
                name, tool, f"{t['wall_seconds_median']:.2f}", str(t["runs"]),
                f"{t['arm_requests']:,}", str(t["throttled_429"]), f"{t['peak_rss_mb']:.0f}",
                f"{lb['seconds']:.2f}" if lb else "", fmt_ratio(t.get("lower_bound_ratio")),
                "" if tool == "scready" else fmt_ratio(t["wall_seconds_median"] / base),
            ))
        ext = sc.get("peer_a_extrapolated")
        if ext:
            rows.append((name, "peer_a (extrapolated from S, not run)",
                         f"~{ext['wall_seconds']:.0f}", "0", f"~{ext['arm_requests']:,}", "", "",
                         "", "", fmt_ratio(ext["wall_seconds"] / base)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def dashboard_table(results):
    """One line per scenario: report.html's size and its times in headless Chromium."""
    lines = []
    for name, sc in results["scenarios"].items():
        d = sc["tools"]["scready"].get("dashboard")
        if not d:
            continue
        def times(m):
            search = ("-" if m["search_seconds_median"] is None
                      else f"{m['search_seconds_median'] * 1000:.0f} ms")
            return (f"first rows after {m['first_rows_seconds_median']:.2f} s, a search's result "
                    f"after {search}")
        lines.append(f"{name}: report.html {d['report_html_bytes'] / 1e6:.1f} MB for "
                     f"{sc['instances']:,} instances; {times(d)}; with a "
                     f"{d['cpu_slowdown']}x slower CPU: {times(d['slow'])} (medians of "
                     f"{d['runs']} runs; {d['rows_in_dom']} rows in the DOM at most)")
    return "\n".join(lines)


def targets_report(results):
    out = []
    sc = results["scenarios"]
    t = results["targets"]
    if "L" in sc:
        s = sc["L"]["tools"]["scready"]
        out.append(("L: wall time within 1.5x of the lower bound",
                    f"{s['lower_bound_ratio']:.2f}x", s["lower_bound_ratio"] <= t["L_lower_bound_ratio"]))
        out.append(("L: zero 429s with default settings", str(s["throttled_429"]),
                    s["throttled_429"] == 0))
        out.append(("L: peak RSS at most 250 MB", f"{s['peak_rss_mb']:.0f} MB",
                    s["peak_rss_mb"] <= t["L_peak_rss_target_mb"]))
        out.append(("L: scan CPU (user + system) at most 2.5 s",
                    f"{s['cpu_seconds_median']:.2f} s", s["cpu_seconds_median"] <= t["L_cpu_seconds"]))
        rj = s.get("report_bytes", {}).get("report.json")
        if rj is not None:
            out.append(("L: report.json at most 60 MB", f"{rj / 1e6:.1f} MB",
                        rj / 1e6 <= t["L_report_json_mb"]))
        g = s.get("history_growth_bytes_median")
        if g is not None:
            out.append(("L: history growth per night at most 10 MB", f"{g / 1e6:.2f} MB",
                        g / 1e6 <= t["L_history_growth_mb"]))
        d = s.get("dashboard")
        if d:
            mb = d["report_html_bytes"] / 1e6
            out.append(("L: report.html at most 25 MB", f"{mb:.1f} MB", mb <= t["L_report_html_mb"]))
            out.append(("L: dashboard shows its first rows within 3 s",
                        f"{d['first_rows_seconds_median']:.2f} s",
                        d["first_rows_seconds_median"] <= t["L_dashboard_first_rows_seconds"]))
            if d["search_seconds_median"] is not None:
                out.append(("L: a search shows its result within 1 s",
                            f"{d['search_seconds_median']:.2f} s",
                            d["search_seconds_median"] <= t["L_dashboard_search_seconds"]))
        b = sc["L"]["tools"].get("peer_b")
        if b:
            r = b["wall_seconds_median"] / s["wall_seconds_median"]
            out.append(("L: at least 25x faster than peer B", f"{r:.1f}x",
                        r >= t["L_peer_b_ratio_target"]))
    if "S" in sc:
        s = sc["S"]["tools"]["scready"]
        a = sc["S"]["tools"].get("peer_a")
        if a:
            r = a["wall_seconds_median"] / s["wall_seconds_median"]
            out.append(("S: at least 200x faster than peer A", f"{r:.0f}x", r >= t["S_peer_a_ratio"]))
    ev = results.get("evaluate")
    if ev:
        out.append(("evaluation of 1,000,000 instances under 2 s", f"{ev['median_seconds']:.2f} s",
                    ev["median_seconds"] < t["evaluate_1m_seconds"]))
    width = max(len(o[0]) for o in out) if out else 0
    return "\n".join(f"{name.ljust(width)}  {value:>10}  {'met' if ok else 'NOT MET'}"
                     for name, value, ok in out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", default="S,L")
    ap.add_argument("--runs", type=int, default=int(os.environ.get("RUNS", "3")))
    ap.add_argument("--peer-a-runs", type=int, default=int(os.environ.get("PEER_A_RUNS", "1")))
    ap.add_argument("--peer-b-runs", type=int, default=int(os.environ.get("PEER_B_RUNS", "3")))
    ap.add_argument("--python", default=sys.executable, help="the peers' interpreter")
    ap.add_argument("--concurrency", type=int, default=0,
                    help="scready --concurrency (default: scready's own default)")
    ap.add_argument("--no-evaluate", action="store_true")
    ap.add_argument("--no-compute", action="store_true",
                    help="skip the Compute-throttle scenario")
    ap.add_argument("--no-dashboard", action="store_true",
                    help="do not measure report.html in headless Chromium")
    ap.add_argument("--dashboard-only", action="store_true",
                    help="scready's runs and their dashboards only: no peers, no Compute "
                         "scenario, no evaluate bench")
    ap.add_argument("--out", default=os.path.join(HERE, "results.json"))
    args = ap.parse_args()
    if not os.path.exists(SCREADY):
        raise SystemExit(f"{SCREADY} is missing: run `cargo build --release` first")
    os.makedirs(WORK, exist_ok=True)
    concurrency = args.concurrency or default_concurrency()
    if args.dashboard_only:
        args.peer_a_runs = args.peer_b_runs = 0
        args.no_compute = args.no_evaluate = True
    measure_html = not args.no_dashboard
    if measure_html and not dashboard.find_chromium():
        log("no Chromium found: report.html is not measured (install the chromium package)")
    started = time.time()
    results = {
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load_at_start": load(),
        },
        "commit": subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                 text=True).stdout.strip(),
        "settings": {
            "latency_ms": LATENCY_MS, "jitter_ms": JITTER_MS, "page_size": PAGE_SIZE,
            "throttle_burst": THROTTLE_BURST, "throttle_refill_per_sec": THROTTLE_REFILL,
            "scready_concurrency": concurrency, "peer_b_workers": 10,
        },
        "targets": TARGETS,
        "scenarios": {},
    }
    for name in [s.strip() for s in args.scenarios.split(",") if s.strip()]:
        spec = SCENARIOS[name]
        log(f"scenario {name}: {spec}")
        fleet = generate(name, spec)
        for f in glob.glob(history_file(name) + "*"):
            os.remove(f)
        tools = {"scready": args.runs, "peer_b": args.peer_b_runs}
        if name in ("S", "T"):
            tools["peer_a"] = args.peer_a_runs
        runs = {}
        reference = None
        # Verdicts first: one run of each tool, compared before anything else is measured.
        for tool in ("scready", "peer_b", "peer_a"):
            if not tools.get(tool):
                continue
            first = measure(tool, fleet, 1, spec["seed"], args.python, concurrency, name,
                            measure_html=measure_html)
            runs[tool] = first
            out = first[0]["output"]
            if tool == "scready":
                key_agreement = compare_with_key(out, answer_key_path(fleet))
                log(f"  scready agrees with the answer key on {key_agreement['instances']:,} "
                    f"instances ({key_agreement['by_verdict']})")
                reference = scready_verdicts(out)
            else:
                agreement = compare(tool, reference, peer_verdicts(out))
                log(f"  {tool} agrees with scready on {agreement['instances']:,} instances")
        compared = any(tools.get(t) for t in ("peer_a", "peer_b"))
        sc = {"fleet": spec, "instances": len(reference[0]), "tools": {},
              "verdicts": {"compared_checks": sorted(COMPARED) if compared else [],
                           "agree": True if compared else None,
                           "answer_key": {"file": answer_key_path(fleet), **key_agreement}}}
        for tool, n in tools.items():
            if n < 1:
                continue
            if n > 1:
                runs[tool] += measure(tool, fleet, n - 1, spec["seed"] + 1, args.python,
                                      concurrency, name, keep=False, first=2,
                                      measure_html=measure_html)
            sc["tools"][tool] = summary(runs[tool])
            sc["tools"][tool]["all_runs"] = runs[tool]
        results["scenarios"][name] = sc
    if "S" in results["scenarios"] and "L" in results["scenarios"]:
        a = results["scenarios"]["S"]["tools"].get("peer_a")
        if a:
            scale = results["scenarios"]["L"]["instances"] / results["scenarios"]["S"]["instances"]
            results["scenarios"]["L"]["peer_a_extrapolated"] = {
                "method": "peer A's S time and requests scaled by the instance count (L/S)",
                "wall_seconds": a["wall_seconds_median"] * scale,
                "arm_requests": int(a["arm_requests"] * scale),
            }
    if not args.no_compute:
        log("scenario compute throttle")
        results["compute_throttle"] = compute_bench(concurrency)
    if not args.no_evaluate:
        results["evaluate"] = evaluate_bench()
    results["machine"]["load_at_end"] = load()
    results["finished_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    results["table"] = table(results)
    results["dashboard_table"] = dashboard_table(results)
    results["targets_report"] = targets_report(results)
    with open(args.out + ".tmp", "w") as f:
        json.dump(results, f, indent=2)
    os.replace(args.out + ".tmp", args.out)
    la, lz = results["machine"]["load_at_start"], results["machine"]["load_at_end"]
    print()
    print(f"scready bench, {results['started_at']} .. {results['finished_at']}, commit "
          f"{results['commit'][:12]}, {results['machine']['cpus']} CPUs, load average "
          f"{la['load1']:.2f} at start, {lz['load1']:.2f} at end")
    print(f"simulator: latency {LATENCY_MS} ms +/- {JITTER_MS} ms, throttle {THROTTLE_BURST} "
          f"burst / {THROTTLE_REFILL} per s per subscription, {PAGE_SIZE} items per page; "
          f"scready --concurrency {concurrency}; peer B: 10 workers")
    print()
    print(results["table"])
    if results.get("dashboard_table"):
        print()
        print("dashboard (report.html in headless Chromium):")
        print(results["dashboard_table"])
    if results.get("compute_throttle"):
        c = results["compute_throttle"]
        print()
        print(f"compute throttle: {c['instances']:,} instances in {c['fleet']['scale_sets']:,} "
              f"Uniform scale sets, policy {c['fleet']['limit']} per {c['fleet']['window_secs']} s: "
              f"{c['compute_calls']:,} Compute calls in {c['wall_seconds']:.1f} s, the policy "
              f"allows {c['allowed_seconds']:.1f} s ({c['ratio']:.2f}x, target 1.3x), "
              f"{c['compute_429s']} Compute 429s")
    if results.get("evaluate"):
        ev = results["evaluate"]
        print()
        cpu = ev.get("median_cpu_seconds")
        print(f"evaluate: {ev['instances']:,} instances, {ev['findings']:,} findings, median "
              f"{ev['median_seconds']:.2f} s of {ev['runs']} runs on {ev['threads']} threads"
              + (f" ({cpu:.2f} CPU-seconds: {cpu / ev['threads']:.2f} s if every thread had a "
                 f"core of its own)" if cpu else ""))
    print()
    print("targets (goals, not assertions):")
    print(results["targets_report"])
    print()
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
