//! `latchkey`: parse the command line, load settings, start logging, run the command.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use latchkey::cli::{Cli, Command};
use latchkey::config::Settings;
use latchkey::{commands, telemetry};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (path, required) = match &cli.config {
        Some(path) => (path.clone(), true),
        None => (PathBuf::from("config.toml"), false),
    };
    let settings = match Settings::load(&path, required) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("latchkey: {error}");
            return ExitCode::from(2);
        }
    };
    let command = cli.command.unwrap_or(Command::Serve);
    let level = match command {
        Command::Serve => settings.log.level.clone(),
        _ => "warn".to_string(),
    };
    let _log_writer = telemetry::init(&settings.log, &level);

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("latchkey: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(command, settings)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("latchkey: {error:#}");
            ExitCode::FAILURE
        }
    }
}
