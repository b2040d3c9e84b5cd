//! The `kitap` command; everything it does lives in the library.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    kitap::cli::run(kitap::cli::Cli::parse())
}
