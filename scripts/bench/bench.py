#!/usr/bin/env python3
"""The benchmark driver behind scripts/bench/run (see there for the knobs).

  bench.py bench --root REPO [--shared DIR]   time every row at every N, write results, report
  bench.py report                             print the report of the last run again

Rows are hapl's commands (render, check, plan) on the top-level platform.rhai and on generated
platforms of N apps (gen_platform.py), and, on the same workload, the floors and peers of
<shared>/perf (native serde_yaml, plain Rhai, jrsonnet, go-jsonnet, KCL, cdk8s, Python) and
`kubectl kustomize` building hapl's rendered tree. Each cell: one checked warm-up run, then
hyperfine (or an own loop when hyperfine is missing), then peak RSS with /usr/bin/time.
Results (JSON and the markdown report) go to $OUTROOT/results.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OUTROOT = os.environ.get("OUTROOT", "/dev/shm/hapl-bench")
CACHE = os.environ.get("HAPL_BENCH_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "hapl-bench")
RESULTS = os.path.join(OUTROOT, "results")
QUICK = os.environ.get("QUICK") == "1"
NS = [int(n) for n in os.environ.get("NS", "10 100 1000" if QUICK else "10 100 1000 5000").split()]
RUNS = int(os.environ.get("RUNS", "3" if QUICK else "5"))
RUNS_SMALL = int(os.environ.get("RUNS_SMALL", "5" if QUICK else "10"))
ONLY = re.compile(os.environ.get("ONLY", "."))
CALLGRIND = os.environ.get("CALLGRIND", "1") == "1"
FLOOR = "floor: native serde_yaml"
PLATFORM = "platform.rhai"  # the case column of the top-level script


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def loadavg():
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "?"


def count_files(d):
    return sum(len([f for f in fs if not f.startswith(".")]) for _, _, fs in os.walk(d))


class Row:
    """One thing timed: `cmd(n, out)` gives the argv; `docs(n)` the documents it writes or reads."""

    def __init__(self, name, group, cmd, max_n=10**9, expect=(0,), cwd=None, env=None, writes=True):
        self.name, self.group, self.cmd, self.max_n = name, group, cmd, max_n
        self.expect, self.cwd, self.env, self.writes = expect, cwd, env, writes


# ------------------------------------------------------------------ hapl's cases
class Hapl:
    def __init__(self, root):
        self.root = root
        self.bin = os.path.join(root, "target", "release", "hapl")
        self.scripts = {}  # case -> (script, changed script or None)
        self.trees = {}    # case -> rendered tree (for kustomize and the document count)
        self.repos = {}    # case -> repo for plan
        self.plan = self.detect_plan()

    def run(self, args, cwd=None):
        return subprocess.run([self.bin, *args], cwd=cwd, capture_output=True, text=True)

    def argv(self, script, *command):
        # A generous script timeout: on a loaded machine N=5000 can pass the default 10 s.
        return [self.bin, "--timeout", "600", "--script", script, *command]

    def detect_plan(self):
        r = self.run(["plan", "--help"])
        if r.returncode != 0:
            return None
        help_text = r.stdout + r.stderr
        apply = self.run(["apply-to-git", "--help"]).returncode == 0
        return {"repo_flag": "--repo" in help_text, "apply": apply}

    def prepare(self, case, n):
        """Write the script (and its one-change twin), render it once, make the plan repo."""
        d = os.path.join(OUTROOT, f"hapl-{case}")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        script = os.path.join(d, "platform.rhai")
        changed = os.path.join(d, "platform-change.rhai")
        if n is None:
            text = open(os.path.join(self.root, "platform.rhai")).read()
            shutil.copy(os.path.join(self.root, "platform.rhai"), script)
            lib = os.path.join(self.root, "lib")
            if os.path.isdir(lib):
                shutil.copytree(lib, os.path.join(d, "lib"))
            # The one change is picked once the plan repo exists (see one_change).
        else:
            gen = os.path.join(HERE, "gen_platform.py")
            subprocess.run([sys.executable, gen, str(n), script], check=True)
            subprocess.run([sys.executable, gen, str(n), changed, "--change"], check=True)
        tree = os.path.join(d, "tree")
        r = self.run(self.argv(script, "render", "--out", tree)[1:])
        if r.returncode != 0:
            raise SystemExit(f"hapl render failed on {script}:\n{r.stderr}")
        self.trees[case] = tree
        if self.plan:
            self.repos[case] = self.make_repo(d, script, tree)
        if n is None:
            changed = self.one_change(script, changed, self.repos[case]) if self.plan else None
        self.scripts[case] = (script, changed)
        return count_files(tree)

    def one_change(self, script, changed, repo):
        """The one-change twin of a hand-written script: the first quantity ("128Mi", "5Gi")
        that, grown by one, makes `hapl plan` report a change (exit 2). Not every quantity does:
        the node's memory only feeds the budget."""
        text = open(script).read()
        for m in re.finditer(r'"(\d+)(Gi|Mi)"', text):
            with open(changed, "w") as f:
                f.write(text[:m.start()] + f'"{int(m.group(1)) + 1}{m.group(2)}"' + text[m.end():])
            shutil.copy(changed, os.path.join(repo, "platform-change.rhai"))
            args = self.argv("platform-change.rhai", "plan")[1:] + (["--repo", repo] if self.plan["repo_flag"] else [])
            if self.run(args, cwd=repo).returncode == 2:
                line = text.count("\n", 0, m.start()) + 1
                log(f"   one change: {m.group(0)} on line {line} of {os.path.basename(script)}")
                return changed
        log(f"   NOTE: no quantity in {os.path.basename(script)} makes a one-change plan; that row is left out")
        return None

    def make_repo(self, d, script, tree):
        """A git repo holding the script and what hapl itself wrote for it: `apply-to-git` when
        the build has it, else the rendered tree committed by hand."""
        repo = os.path.join(d, "repo")
        os.makedirs(repo)
        shutil.copy(script, os.path.join(repo, "platform.rhai"))
        if os.path.isdir(os.path.join(d, "lib")):
            shutil.copytree(os.path.join(d, "lib"), os.path.join(repo, "lib"))
        git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "-c", "commit.gpgsign=false"]
        subprocess.run(["git", "init", "-q", repo], check=True)
        subprocess.run(git + ["-C", repo, "add", "-A"], check=True)
        subprocess.run(git + ["-C", repo, "commit", "-qm", "platform"], check=True)
        if self.plan["apply"]:
            args = self.argv("platform.rhai", "apply-to-git")[1:] + (["--repo", repo] if self.plan["repo_flag"] else [])
            r = self.run(args, cwd=repo)
            if r.returncode != 0:
                log(f"   NOTE: hapl apply-to-git failed ({r.returncode}); using the rendered tree:\n{r.stderr[-500:]}")
            else:
                return repo
        shutil.copytree(tree, repo, dirs_exist_ok=True)
        subprocess.run(git + ["-C", repo, "add", "-A"], check=True)
        subprocess.run(git + ["-C", repo, "commit", "-qm", "rendered by hapl"], check=True)
        return repo

    def rows(self, case):
        script, changed = self.scripts[case]
        rows = [
            Row("hapl render", "hapl", lambda n, out: self.argv(script, "render", "--out", out)),
            Row("hapl check", "hapl", lambda n, out: self.argv(script, "check"), writes=False),
        ]
        repo = self.repos.get(case)
        if repo:
            repo_args = ["--repo", repo] if self.plan["repo_flag"] else []
            rows.append(Row("hapl plan (no change)", "hapl",
                            lambda n, out: self.argv("platform.rhai", "plan", *repo_args),
                            expect=(0,), cwd=repo, writes=False))
            if changed:
                shutil.copy(changed, os.path.join(repo, "platform-change.rhai"))
                rows.append(Row("hapl plan (one change)", "hapl",
                                lambda n, out: self.argv("platform-change.rhai", "plan", *repo_args),
                                expect=(2,), cwd=repo, writes=False))
        return rows


# ------------------------------------------------------------------ floors and peers
def peer_rows(shared, hapl):
    rows = []
    w = os.path.join(shared, "perf", "workloads") if shared else None
    floors = os.path.join(CACHE, "floors-target", "release")
    py = os.path.join(CACHE, "venv", "bin", "python")
    jr = os.path.join(CACHE, "tools", "bin", "jrsonnet")
    node_modules = os.path.join(CACHE, "cdk8s", "node_modules")

    def have_py(module):
        return os.path.exists(py) and subprocess.run(
            [py, "-c", f"import {module}"], capture_output=True).returncode == 0

    def add(ok, why, row):
        if not ONLY.search(row.name):
            return
        if ok:
            rows.append(row)
        else:
            log(f"SKIP {row.name}: {why}")

    if w:
        gen_serde, gen_rhai = os.path.join(floors, "gen-serde"), os.path.join(floors, "gen-rhai")
        apps = os.path.join(w, "rust", "apps.rhai")
        add(os.access(gen_serde, os.X_OK), "floors not built", Row(
            FLOOR, "floor", lambda n, out: [gen_serde, str(n), out]))
        add(os.access(gen_rhai, os.X_OK), "floors not built", Row(
            "floor: plain Rhai → serde_yaml", "floor", lambda n, out: [gen_rhai, apps, str(n), out]))
        add(os.access(gen_rhai, os.X_OK), "floors not built", Row(
            "floor: plain Rhai, direct", "floor", lambda n, out: [gen_rhai, apps, str(n), out, "--direct"]))
        add(True, "", Row("python f-string template", "peer", lambda n, out: [
            sys.executable, os.path.join(w, "python", "gen.py"), str(n), out, "--dumper=template"]))
        add(os.access(jr, os.X_OK), f"jrsonnet is not installed in {jr}", Row(
            "jrsonnet", "peer", lambda n, out: [jr, "-S", "-c", "-m", out, "--tla-code", f"n={n}",
                                                os.path.join(w, "jsonnet", "multi.jsonnet")]))
        if QUICK:
            log("QUICK=1: skipping the slow peers (PyYAML, go-jsonnet, KCL, cdk8s)")
        else:
            add(have_py("yaml"), "PyYAML is not installed in the venv", Row(
                "python PyYAML (libyaml)", "peer", lambda n, out: [
                    py, os.path.join(w, "python", "gen.py"), str(n), out, "--dumper=c"]))
            add(have_py("_gojsonnet"), "gojsonnet is not installed in the venv", Row(
                "go-jsonnet (via Python)", "peer", lambda n, out: [
                    py, os.path.join(w, "jsonnet", "pyjsonnet_run.py"), "--impl=go",
                    os.path.join(w, "jsonnet", "multi.jsonnet"), str(n), out]))
            add(have_py("kcl_lib"), "kcl-lib is not installed in the venv", Row(
                "KCL (kcl-lib)", "peer", lambda n, out: [
                    py, os.path.join(w, "kcl", "kcl_run.py"), os.path.join(w, "kcl", "apps.k"), str(n), out]))
            add(os.path.isdir(os.path.join(node_modules, "cdk8s")) and shutil.which("node") is not None,
                "cdk8s is not installed (npm)", Row(
                    "cdk8s (node)", "peer", lambda n, out: ["node", os.path.join(w, "cdk8s", "main.js"), str(n), out],
                    env={"NODE_PATH": node_modules}))
    else:
        log("SKIP floors and peers: no shared folder with perf/workloads")
    # kubectl kustomize building hapl's own rendered tree (what `hapl plan` reads); ~15 s at
    # N=1000 on a quiet machine and ~19 min at N=5000, so capped: KUSTOMIZE_MAX_N, default 1000
    # (100 in QUICK mode).
    add(shutil.which("kubectl") is not None, "kubectl is not installed", Row(
        "kubectl kustomize (hapl's tree)", "peer",
        lambda n, out: ["kubectl", "kustomize", hapl.trees[case_of(n)]],
        max_n=int(os.environ.get("KUSTOMIZE_MAX_N", 100 if QUICK else 1000)), writes=False))
    return rows


def case_of(n):
    return PLATFORM if n is None else f"N={n}"


# ------------------------------------------------------------------ timing
def timed_cell(row, n, docs):
    out = os.path.join(OUTROOT, "out")
    argv = row.cmd(n, out)
    env = dict(os.environ, **(row.env or {}))
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    r = subprocess.run(argv, cwd=row.cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    warm = time.perf_counter() - t0
    cell = {"name": row.name, "group": row.group, "case": case_of(n), "n": n, "docs": docs,
            "cmd": " ".join(shlex.quote(a) for a in argv), "exit": r.returncode}
    if r.returncode not in row.expect:
        cell["error"] = f"exit {r.returncode} (expected {'/'.join(map(str, row.expect))}): {r.stderr.strip()[-300:]}"
        log(f"   FAIL {row.name} {case_of(n)}: {cell['error']}")
        return cell
    if row.writes:
        cell["files"] = count_files(out)
    runs = RUNS_SMALL if (n or 0) <= 100 and warm < 2 else RUNS
    if warm > 20:
        runs = min(runs, 3)
    try:
        times = time_runs(argv, row, env, out, runs)
    except subprocess.CalledProcessError as e:
        cell["error"] = f"a timed run failed (exit {e.returncode})"
        log(f"   FAIL {row.name} {case_of(n)}: {cell['error']}")
        return cell
    cell["times"] = times
    cell["rss_kb"] = peak_rss(argv, row, env, out, 1 if statistics.median(times) > 5 else 3)
    shutil.rmtree(out, ignore_errors=True)
    rss = f", peak RSS {statistics.median(cell['rss_kb']) / 1024:.0f} MiB" if cell["rss_kb"] else ""
    log(f"   {row.name:34} {case_of(n):>14}: median {fmt_t(statistics.median(times))} ({runs} runs){rss}")
    return cell


def time_runs(argv, row, env, out, runs):
    if shutil.which("hyperfine"):
        fd, js = tempfile.mkstemp(suffix=".json")
        os.close(fd)
        cmd = ["hyperfine", "-N", "--style", "none", "--runs", str(runs), "--export-json", js,
               "--prepare", f"rm -rf {shlex.quote(out)}"]
        if row.expect != (0,):
            cmd.append("-i")  # `hapl plan` exits 2 when there are changes (checked in the warm-up)
        subprocess.run(cmd + [" ".join(shlex.quote(a) for a in argv)], cwd=row.cwd, env=env,
                       check=True, stdout=subprocess.DEVNULL)
        times = json.load(open(js))["results"][0]["times"]
        os.unlink(js)
        return times
    times = []
    for _ in range(runs):
        shutil.rmtree(out, ignore_errors=True)
        t0 = time.perf_counter()
        subprocess.run(argv, cwd=row.cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return times


def peak_rss(argv, row, env, out, runs):
    if not os.access("/usr/bin/time", os.X_OK):
        return []
    kb = []
    for _ in range(runs):
        shutil.rmtree(out, ignore_errors=True)
        with tempfile.NamedTemporaryFile("r") as tf:
            subprocess.run(["/usr/bin/time", "-f", "%M", "-o", tf.name, *argv], cwd=row.cwd, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            kb.append(int(tf.read().strip().splitlines()[-1]))
    return kb


def instructions(argv, cwd=None, env=None, out=None):
    """Instructions executed (valgrind --tool=callgrind): robust to the load of other processes."""
    if out:
        shutil.rmtree(out, ignore_errors=True)
    r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
                       cwd=cwd, env=env, capture_output=True, text=True)
    m = re.search(r"Collected : (\d+)", r.stderr)
    return int(m.group(1)) if m else None


# ------------------------------------------------------------------ report
def fmt_t(s):
    ms = s * 1e3
    if ms >= 10000:
        return f"{ms / 1e3:.1f} s"
    if ms >= 1000:
        return f"{ms / 1e3:.2f} s"
    return f"{ms:.0f} ms" if ms >= 100 else f"{ms:.1f} ms" if ms >= 10 else f"{ms:.2f} ms"


def report(data):
    cells = [c for c in data["cells"] if "times" in c]
    out = []
    p = out.append
    m = data["machine"]
    p(f"# hapl benchmarks ({data['date']})\n")
    p(f"Machine: {m['cores']} cores, {m['cpu']}; load average {m['load_start']} at the start, "
      f"{m['load_end']} at the end (other processes share these cores: compare rows of this run, "
      f"not runs). Trees are written to {OUTROOT} ({m['fs']}). hapl {data['hapl']}. "
      f"Timing: {data['timer']}; {data.get('runs', [RUNS_SMALL, RUNS])[0]} runs at N ≤ 100, "
      f"{data.get('runs', [RUNS_SMALL, RUNS])[1]} above, after one checked warm-up. "
      f"Peak memory: max RSS from /usr/bin/time (median).\n")
    if data.get("plan_note"):
        p(data["plan_note"] + "\n")
    cases = sorted({c["case"] for c in cells}, key=lambda k: (k != PLATFORM, int(k[2:]) if k != PLATFORM else 0))
    names = []
    for c in cells:
        if c["name"] not in names:
            names.append(c["name"])
    by = {(c["name"], c["case"]): c for c in cells}

    def med(name, case):
        c = by.get((name, case))
        return statistics.median(c["times"]) if c else None

    p("## Wall time: median (min–max)\n")
    p("| row | " + " | ".join(cases) + " |")
    p("|---|" + "---:|" * len(cases))
    for name in names:
        row = []
        for case in cases:
            c = by.get((name, case))
            row.append(f"{fmt_t(statistics.median(c['times']))} ({fmt_t(min(c['times']))}–{fmt_t(max(c['times']))})"
                       if c else "–")
        p(f"| {name} | " + " | ".join(row) + " |")
    p("")
    p("## Documents, per-document cost and peak memory\n")
    p("Documents: files in the tree a row writes or reads (hapl: its own layout, 5 objects and 2 "
      "`kustomization.yaml` per app plus the storage base; the peers: 6 files per app plus the root "
      "`kustomization.yaml`). µs/doc = median / documents. Growth = µs/doc at the largest N / µs/doc "
      "at N=100 (linear: ≈ 1).\n")
    ns = [k for k in cases if k != PLATFORM]
    p("| row | " + " | ".join(f"docs {k}" for k in ns) + " | " + " | ".join(f"µs/doc {k}" for k in ns)
      + " | growth | " + " | ".join(f"RSS {k}" for k in cases) + " |")
    p("|---|" + "---:|" * (2 * len(ns) + 1 + len(cases)))
    for name in names:
        docs, per, rss = [], {}, []
        for k in ns:
            c = by.get((name, k))
            docs.append(str(c["docs"]) if c else "–")
            if c:
                per[k] = statistics.median(c["times"]) / c["docs"] * 1e6
        for k in cases:
            c = by.get((name, k))
            rss.append(f"{statistics.median(c['rss_kb']) / 1024:.0f} MiB" if c and c.get("rss_kb") else "–")
        big = [k for k in ns if k in per]
        growth = f"{per[big[-1]] / per['N=100']:.2f}× ({big[-1]})" if "N=100" in per and big and big[-1] != "N=100" else "–"
        p(f"| {name} | " + " | ".join(docs) + " | " + " | ".join(f"{per[k]:.1f}" if k in per else "–" for k in ns)
          + f" | {growth} | " + " | ".join(rss) + " |")
    p("")
    refs = [r for r in [FLOOR, "jrsonnet", "kubectl kustomize (hapl's tree)"] if any(n == r for n in names)]
    if refs:
        p("## Ratios (same run): median of the row / median of the reference at the same N\n")
        hdr = [f"× {r} {k}" for r in refs for k in ns]
        p("| row | " + " | ".join(hdr) + " |")
        p("|---|" + "---:|" * len(hdr))
        for name in names:
            vals = []
            for r in refs:
                for k in ns:
                    a, b = med(name, k), med(r, k)
                    vals.append(f"{a / b:.2f}×" if a and b else "–")
            p(f"| {name} | " + " | ".join(vals) + " |")
        p("")
    if data.get("instructions"):
        p("## Instructions at N=100 (valgrind callgrind; insensitive to the machine's load)\n")
        floor = data["instructions"].get(FLOOR)
        p("| row | instructions | × native floor |")
        p("|---|---:|---:|")
        for name, v in data["instructions"].items():
            p(f"| {name} | {v / 1e6:.1f} M | {v / floor:.2f}× |" if floor else f"| {name} | {v / 1e6:.1f} M | – |")
        p("")
    p("## Targets (issue #11), from this run\n")
    for line in targets(by, med, ns):
        p(f"- {line}")
    failed = [c for c in data["cells"] if "error" in c]
    if failed:
        p("\n## Failed cells\n")
        for c in failed:
            p(f"- {c['name']} {c['case']}: {c['error']}")
    return "\n".join(out) + "\n"


def targets(by, med, ns):
    lines = []

    def verdict(ok):
        return "met" if ok else "MISSED"

    r, f = med("hapl render", "N=1000"), med(FLOOR, "N=1000")
    if r and f:
        lines.append(f"`hapl render` at N=1000 within 2× the native serde_yaml floor: {r / f:.2f}× → {verdict(r / f <= 2)}")
    j = med("jrsonnet", "N=1000")
    if r and j:
        lines.append(f"`hapl render` at N=1000 ahead of jrsonnet: {r / j:.2f}× jrsonnet → {verdict(r < j)}")
    pl, k = med("hapl plan (no change)", "N=1000"), med("kubectl kustomize (hapl's tree)", "N=1000")
    if pl:
        lines.append(f"`hapl plan` (no change) at N=1000 under 1 s: {fmt_t(pl)} → {verdict(pl < 1)}")
        if k:
            lines.append(f"`hapl plan` (no change) at N=1000 ≥ 10× faster than kubectl kustomize: {k / pl:.1f}× → {verdict(k / pl >= 10)}")
    pp = med("hapl plan (no change)", PLATFORM)
    if pp:
        lines.append(f"`hapl plan` on platform.rhai under 50 ms: {fmt_t(pp)} → {verdict(pp < 0.05)}")
    if not pl and not pp:
        lines.append("`hapl plan`: not available in this build (`hapl plan --help` fails)")
    big = [k for k in ns if k != "N=100" and int(k[2:]) > 100]
    for name in ["hapl render", "hapl check", "hapl plan (no change)"]:
        a, b = by.get((name, "N=100")), by.get((name, big[-1])) if big else None
        if a and b:
            g = (statistics.median(b["times"]) / b["docs"]) / (statistics.median(a["times"]) / a["docs"])
            lines.append(f"`{name}` linear growth (µs/doc at {big[-1]} within 1.5× of N=100): {g:.2f}× → {verdict(g <= 1.5)}")
    for name in ["hapl render", "hapl check", "hapl plan (no change)", "hapl plan (one change)"]:
        c = by.get((name, "N=5000"))
        if c and c.get("rss_kb"):
            mib = statistics.median(c["rss_kb"]) / 1024
            lines.append(f"`{name}` peak memory at N=5000 under 150 MiB: {mib:.0f} MiB → {verdict(mib < 150)}")
    return lines


# ------------------------------------------------------------------ main
def machine():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    fs = subprocess.run(["stat", "-f", "-c", "%T", OUTROOT], capture_output=True, text=True).stdout.strip()
    return {"cores": os.cpu_count(), "cpu": cpu, "load_start": loadavg(), "fs": fs or "?"}


def bench(args):
    os.makedirs(RESULTS, exist_ok=True)
    hapl = Hapl(args.root)
    version = hapl.run(["--version"]).stdout.strip()
    commit = subprocess.run(["git", "-C", args.root, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    data = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine(),
            "hapl": f"{version} ({commit})", "cells": [], "instructions": {},
            "timer": "hyperfine -N" if shutil.which("hyperfine") else "own loop (hyperfine missing)",
            "runs": [RUNS_SMALL, RUNS]}
    if not hapl.plan:
        data["plan_note"] = "`hapl plan`: not available in this build (`hapl plan --help` fails); its rows are left out."
        log("NOTE: " + data["plan_note"])
    peers = peer_rows(args.shared, hapl)
    for n in [None] + NS:
        case = case_of(n)
        docs = hapl.prepare(case, n)
        log(f"== {case}: hapl's tree has {docs} files; load {loadavg()}")
        rows = [r for r in hapl.rows(case) if ONLY.search(r.name)]
        if n is not None:
            rows += [r for r in peers if n <= r.max_n]
        for row in rows:
            row_docs = docs if row.group == "hapl" or "kustomize" in row.name else 6 * n + 1
            cell = timed_cell(row, n, row_docs)
            if "files" in cell and row.group != "hapl" and cell["files"] != row_docs:
                cell["error"] = f"wrote {cell['files']} files, expected {row_docs}"
                log(f"   FAIL {row.name} {case}: {cell['error']}")
            data["cells"].append(cell)
            json.dump(data, open(os.path.join(RESULTS, "results.json"), "w"), indent=1)
    if CALLGRIND and shutil.which("valgrind") and 100 in NS:
        log("== instruction counts at N=100 (callgrind)")
        out = os.path.join(OUTROOT, "out")
        for row in hapl.rows("N=100") + [r for r in peers if r.group == "floor"]:
            if not ONLY.search(row.name) or "plan (one" in row.name:
                continue
            v = instructions(row.cmd(100, out), cwd=row.cwd, env=dict(os.environ, **(row.env or {})), out=out)
            if v:
                data["instructions"][row.name] = v
                log(f"   {row.name:34}: {v / 1e6:.1f} M instructions")
        shutil.rmtree(out, ignore_errors=True)
    data["machine"]["load_end"] = loadavg()
    json.dump(data, open(os.path.join(RESULTS, "results.json"), "w"), indent=1)
    text = report(data)
    open(os.path.join(RESULTS, "report.md"), "w").write(text)
    print(text)
    log(f"results: {RESULTS}/results.json, report: {RESULTS}/report.md")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["bench", "report"])
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(HERE)))
    ap.add_argument("--shared", default="")
    args = ap.parse_args()
    if args.what == "report":
        path = os.path.join(RESULTS, "results.json")
        if not os.path.exists(path):
            sys.exit(f"no results in {RESULTS}: run scripts/bench/run first")
        data = json.load(open(path))
        data["machine"].setdefault("load_end", "?")
        print(report(data))
    else:
        bench(args)


if __name__ == "__main__":
    main()
