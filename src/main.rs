//! `makonis`: the one binary of Mākonis. This file only wires the subcommands.

mod cli;
mod commands;
mod telemetry;

use clap::Parser;

use crate::cli::{Cli, Command};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init(cli.log_format, &cli.log_level)?;
    match cli.command {
        Command::Crds(args) => commands::crds::run(args),
        Command::Operator(args) => {
            tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(commands::operator::run(*args))
        }
        Command::Portal(args) => {
            tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(commands::portal::run(*args))
        }
        Command::Identity(args) => {
            tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(commands::identity::run(args))
        }
        Command::Siem(args) => {
            tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(commands::siem::run(args))
        }
        Command::Slo(args) => {
            tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(commands::slo::run(args))
        }
    }
}
