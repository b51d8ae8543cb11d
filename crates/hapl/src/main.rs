//! The `hapl` command line. The only crate that prints.

mod cli;
mod habits;
mod report;

fn main() {
    std::process::exit(cli::run());
}
