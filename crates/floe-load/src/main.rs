//! floe-load: many listeners against a live streaming server, with the figures that matter
//! (connections, latency to the first audio byte, keep-up, disconnects, the server's CPU and
//! memory), light enough to hold ~19,000 connections on the machine it measures.

mod conn;
mod http;
mod icy;
mod procfs;
mod quiet;
mod run;
mod stats;
mod sys;
mod table;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "floe-load", version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Open listeners to a stream URL at a bounded rate, hold them, report. Stops by itself.
    Run(Box<run::RunArgs>),
    /// Wait until the machine is quiet (busy % below a threshold for some seconds), bounded.
    WaitQuiet(quiet::QuietArgs),
    /// Print the side-by-side table from the JSON results in a folder (written by `run --out`).
    Table(table::TableArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Run(a) => run::main(*a),
        Cmd::WaitQuiet(a) => quiet::main(&a),
        Cmd::Table(a) => table::main(&a),
    }
}
