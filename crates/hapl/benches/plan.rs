//! `cargo bench -p hapl --bench plan`: `hapl plan` (reading the repo, comparing, patching) for
//! `platform.rhai` against its own rendered repo, and for generated platforms of N apps (the
//! render benchmark's workload: ≈10 documents per app with the `kustomization.yaml` files)
//! against their rendered repos, unchanged and
//! with one image tag changed. Prints wall-clock median and spread after a warm-up, the median
//! CPU time of the thread (of the whole plan, and of reading the repo alone: on a shared machine
//! wall-clock time also counts other processes), and CPU µs per document so the cost per
//! document can be compared across N (it should stay flat: linear cost).

#[allow(dead_code)]
#[path = "render.rs"]
mod render;

use std::path::Path;
use std::time::{Duration, Instant};

use hapl_core::{Platform, Resource};
use hapl_repo::plan::{plan, PlanOptions};
use hapl_script::{evaluate_file, evaluate_str, Options};

/// CPU time this thread has used (Linux `schedstat`), to see through a busy machine.
fn cpu_time() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(Duration::from_nanos(
        s.split_whitespace().next()?.parse().ok()?,
    ))
}

/// (median wall, min wall, max wall, median CPU) of `runs` runs after a warm-up.
fn median(runs: usize, mut f: impl FnMut()) -> (Duration, Duration, Duration, Duration) {
    f(); // warm-up
    let mut times: Vec<(Duration, Duration)> = (0..runs)
        .map(|_| {
            let (t, c) = (Instant::now(), cpu_time());
            f();
            let cpu = match (c, cpu_time()) {
                (Some(a), Some(b)) => b - a,
                _ => Duration::ZERO,
            };
            (t.elapsed(), cpu)
        })
        .collect();
    times.sort();
    let mut cpu: Vec<Duration> = times.iter().map(|t| t.1).collect();
    cpu.sort();
    (
        times[times.len() / 2].0,
        times[0].0,
        times[times.len() - 1].0,
        cpu[cpu.len() / 2],
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Render the platform into a fresh folder; returns the folder and its document count.
fn rendered(platform: &Platform) -> (tempfile::TempDir, usize) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let tree = hapl_repo::render_tree(platform);
    hapl_repo::write_render(&tmp.path().join("repo"), &tree).expect("render writes");
    let docs = tree.values().map(|t| t.matches("\n---").count() + 1).sum();
    (tmp, docs)
}

fn case(name: &str, platform: &Platform, repo: &Path, docs: usize, runs: usize) {
    let mut summary = String::new();
    let (med, min, max, cpu) = median(runs, || {
        let p = plan(platform, repo, &PlanOptions::default()).expect("plan");
        summary = format!(
            "{}/{}/{}",
            p.summary.add, p.summary.change, p.summary.delete
        );
    });
    let (_, _, _, read) = median(runs, || {
        std::hint::black_box(hapl_repo::repo::read(repo, false).expect("read"));
    });
    println!(
        "| {name:<32} | {docs:>6} | {summary:>7} | {:>9.1} | {:>9.1} | {:>9.1} | {:>8.1} | {:>8.1} | {:>9.2} |",
        ms(med),
        ms(min),
        ms(max),
        ms(cpu),
        ms(read),
        ms(cpu) * 1e3 / docs.max(1) as f64
    );
}

const TAG: &str = "/spec/values/controllers/main/containers/main/image/tag";

/// The platform with the image tag of its first app's HelmRelease changed.
fn with_one_change(platform: &Platform) -> Platform {
    let mut changed = platform.clone();
    let obj = changed
        .objects
        .iter_mut()
        .find(|o| o.resource.to_value().pointer(TAG).is_some())
        .expect("a HelmRelease with an image tag");
    let mut value = obj.resource.to_value();
    *value.pointer_mut(TAG).expect("checked") = serde_json::json!("9.9.9");
    obj.resource = Resource::from_value(value).expect("still valid");
    changed
}

fn main() {
    let max_n: usize = std::env::args()
        .filter_map(|a| a.parse().ok())
        .next()
        .unwrap_or(1000);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let options = Options::default();
    println!(
        "| case                             |   docs | a/c/d   | median ms |    min ms |    max ms |   CPU ms | read CPU | CPU µs/doc |"
    );
    println!(
        "|----------------------------------|-------:|---------|----------:|----------:|----------:|---------:|---------:|----------:|"
    );
    let platform = evaluate_file(&root.join("platform.rhai"), &options)
        .expect("platform.rhai evaluates")
        .platform;
    let (tmp, docs) = rendered(&platform);
    case(
        "platform.rhai: unchanged",
        &platform,
        &tmp.path().join("repo"),
        docs,
        20,
    );
    let empty = tempfile::tempdir().expect("temp dir");
    case(
        "platform.rhai: empty repo",
        &platform,
        empty.path(),
        docs,
        20,
    );

    for n in [250usize, 500, 1000].into_iter().filter(|n| *n <= max_n) {
        let script = render::apps_script(n);
        let platform = evaluate_str("bench.rhai", &script, &options)
            .expect("bench script evaluates")
            .platform;
        let (tmp, docs) = rendered(&platform);
        let repo = tmp.path().join("repo");
        let runs = if n >= 1000 { 5 } else { 7 };
        case(&format!("N={n}: unchanged"), &platform, &repo, docs, runs);
        case(
            &format!("N={n}: one image tag changed"),
            &with_one_change(&platform),
            &repo,
            docs,
            runs,
        );
    }
}
