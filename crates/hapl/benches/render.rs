//! `cargo bench -p hapl --bench render`: evaluation + typed conversion + rendering + the rule
//! catalogue (`hapl_core::rules::check`, every rule over every workload), for
//! `examples/minimal` and generated platforms of N apps (the workload of `../shared/perf`:
//! per app a namespace, a NAS PVC, a chart source, a HelmRelease, a Flux Kustomization, and the
//! kustomization.yaml files the layout adds). Prints median and spread of several runs after a
//! warm-up. Nothing is written to disk: file creation is measured by the perf harness.

use std::path::Path;
use std::time::{Duration, Instant};

use hapl_script::{evaluate_file, evaluate_str, Options};

/// A platform script with `n` apps, built through the stdlib like a user would.
pub fn apps_script(n: usize) -> String {
    let mut s = String::from(
        "import \"nas_pvc\" as nas;\nimport \"pinned_helm\" as helm;\n\
         let p = platform(\"bench\");\n\
         let storage = nas::storage_class(p, #{ server: \"nas.lan\", share: \"/volume1/k8s\" });\n\
         for i in 1..=N {\n\
             let app = `app-${i}`;\n\
             p.add(#{ apiVersion: \"v1\", kind: \"Namespace\", metadata: #{ name: app } }, #{ component: app, path: `apps/${app}` });\n\
             nas::pvc(p, storage, #{ name: app, namespace: app, size: \"1Gi\", component: app });\n\
             let charts = helm::repository(p, #{ name: app, namespace: app, url: `https://charts.example.org/${app}`, interval: \"1h\" });\n\
             helm::release(p, #{ name: app, namespace: app, source: charts, chart: \"app-template\", version: \"3.7.3\",\n\
                 values: #{ controllers: #{ main: #{ containers: #{ main: #{\n\
                     image: #{ repository: `ghcr.io/example/${app}`, tag: \"1.2.3\" },\n\
                     resources: #{ requests: #{ cpu: \"50m\", memory: \"64Mi\" }, limits: #{ cpu: \"500m\", memory: \"256Mi\" } } } } } },\n\
                     persistence: #{ data: #{ existingClaim: app } } } });\n\
             p.add(#{ apiVersion: \"kustomize.toolkit.fluxcd.io/v1\", kind: \"Kustomization\",\n\
                 metadata: #{ name: app, namespace: \"flux-system\" },\n\
                 spec: #{ interval: \"10m\", path: `./apps/${app}`, prune: true,\n\
                     sourceRef: #{ kind: \"GitRepository\", name: \"flux-system\" }, dependsOn: [#{ name: \"storage\" }] } });\n\
         }\np\n",
    );
    s = s.replace("N {", &format!("{n} {{"));
    s
}

struct Stats {
    median: Duration,
    min: Duration,
    max: Duration,
}

fn measure(runs: usize, mut f: impl FnMut() -> usize) -> (Stats, usize) {
    let count = f(); // warm-up
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect();
    times.sort();
    (
        Stats {
            median: times[times.len() / 2],
            min: times[0],
            max: times[times.len() - 1],
        },
        count,
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn row(name: &str, stats: &Stats, docs: usize) {
    println!(
        "| {name:<28} | {docs:>6} | {:>9.1} | {:>9.1} | {:>9.1} | {:>8.2} |",
        ms(stats.median),
        ms(stats.min),
        ms(stats.max),
        ms(stats.median) * 1e3 / docs.max(1) as f64
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a number argument limits the largest N.
    let max_n: usize = std::env::args()
        .filter_map(|a| a.parse().ok())
        .next()
        .unwrap_or(1000);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let options = Options::default();
    println!(
        "| case                         |   docs | median ms |    min ms |    max ms | µs / doc |"
    );
    println!(
        "|------------------------------|-------:|----------:|----------:|----------:|---------:|"
    );

    let minimal = root.join("examples/minimal/platform.rhai");
    let (stats, docs) = measure(20, || {
        let e = evaluate_file(&minimal, &options).expect("minimal evaluates");
        hapl_repo::render_tree(&e.platform).len()
    });
    row("minimal: eval+render", &stats, docs);

    for n in [10usize, 100, 1000, 5000]
        .into_iter()
        .filter(|n| *n <= max_n)
    {
        let script = apps_script(n);
        let runs = if n >= 1000 { 5 } else { 10 };
        let (eval, objects) = measure(runs, || {
            evaluate_str("bench.rhai", &script, &options)
                .expect("bench script evaluates")
                .platform
                .objects
                .len()
        });
        let e = evaluate_str("bench.rhai", &script, &options).unwrap();
        let (render, files) = measure(runs, || hapl_repo::render_tree(&e.platform).len());
        let settings = hapl_core::rules::Settings {
            today: hapl_core::rules::Date::new(2026, 6, 1),
        };
        let (rules, _) = measure(runs, || {
            let (findings, budget) = hapl_core::rules::check_with_budget(&e.platform, &settings);
            findings.len() + budget.total.pods as usize
        });
        let (total, _) = measure(runs, || {
            let e = evaluate_str("bench.rhai", &script, &options).unwrap();
            hapl_repo::render_tree(&e.platform).len()
        });
        row(&format!("N={n}: eval + typed"), &eval, objects);
        row(&format!("N={n}: render (YAML)"), &render, files);
        row(&format!("N={n}: rules + budget"), &rules, objects);
        row(&format!("N={n}: eval+typed+render"), &total, files);
    }
}
