//! The `hapl` command line. The only crate that prints.

mod assess_report;
mod cli;
mod graph;
mod habits;
mod reference;
mod report;

// Evaluating a platform makes and frees millions of small maps and strings (Rhai values, the
// YAML tree); glibc's allocator was a quarter of `hapl render`'s instructions. mimalloc is
// portable C (x86-64 and the Pi's arm64) and roughly halves that share. Build with
// `--no-default-features` to use the system allocator (heaptrack and valgrind see only malloc).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(cli::run());
}
