//! The `hapl` command line. The only crate that prints.

mod assess_report;
mod cli;
mod graph;
mod habits;
mod reference;
mod report;

fn main() {
    std::process::exit(cli::run());
}
