//! tailsim's automation: `cargo xtask <command>` (alias in `.cargo/config.toml`).
//!
//! - `setup`: install what is missing (wasm target, trunk, wasm-bindgen-cli,
//!   Chromium + chromedriver, the npm tools of `tests/e2e`).
//! - `serve`: release build of the web app, served on http://127.0.0.1:8080
//!   (`--classroom`: by the classroom server, which also hosts rooms).
//! - `test`: fmt check, native tests, in-browser wasm tests, Playwright e2e.
//! - `cli`: the research CLI, built with profile-guided optimisation.
//! - `bench`: events/s natively, in wasm, and of a SimPy peer; the
//!   classroom server's load test (`--only classroom`).
//! - `fuzz`: the swarm tester (random scenarios, faults, reconfigurations).

mod bench;
mod bench_before;
mod bench_sweep;
mod classroom;
mod fuzz;
mod pgo;
mod python;
mod server;
mod setup;
mod site;
mod style;
mod test;
mod util;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "tailsim automation", version)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Install the tools that build, test and benchmark need (skips what is present).
    Setup {
        /// Also create the Python venv with SimPy used by `bench`.
        #[arg(long)]
        bench: bool,
    },
    /// Build the web app in release mode and serve `dist/` on 127.0.0.1.
    Serve {
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Address to bind.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        /// Serve the existing `dist/` without setup and rebuild.
        #[arg(long)]
        no_build: bool,
        /// Serve this directory instead of `dist/` (implies --no-build).
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
        /// Serve with the classroom server (rooms where a class predicts and
        /// the teacher sees every prediction) instead of the static server.
        #[arg(long)]
        classroom: bool,
    },
    /// Build the static site into `dist/` for any static host (the sandbox,
    /// its worker, the light embed in `dist/embed/`) and print its sizes.
    Dist,
    /// Run every test: fmt check, native, a short swarm, Python, wasm in headless Chromium, end-to-end.
    Test {
        /// Leave out a step (fmt, native, swarm, python, wasm, e2e); repeatable. CI skips none.
        #[arg(long, value_name = "STEP")]
        skip: Vec<String>,
    },
    /// Build the research CLI with profile-guided optimisation (trained on
    /// every shipped scenario) and print the path of the binary.
    Cli,
    /// The swarm tester: random valid and invalid scenarios, live faults and
    /// reconfigurations, checked for panics, hangs, memory, conservation and
    /// determinism. Arguments go to the tester (`cargo xtask fuzz --help`).
    #[command(disable_help_flag = true)]
    Fuzz {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Measure events/s: native CLI, SimPy peer, wasm in Chromium.
    Bench {
        /// Customers per run (simulated time = customers / 9 s).
        #[arg(long, default_value_t = 1_000_000)]
        customers: u64,
        /// Native (and loop) runs per round; wasm runs as many as native in all. Best and median are reported.
        #[arg(long, default_value_t = 5)]
        repeats: u32,
        /// Rounds of native runs then one SimPy run (about 15 s each).
        #[arg(long, default_value_t = 2)]
        rounds: u32,
        /// Skip the SimPy peer (and its venv).
        #[arg(long)]
        skip_simpy: bool,
        /// Skip the in-browser wasm run (and the site build).
        #[arg(long)]
        skip_wasm: bool,
        /// Run only this part: `classroom` (the classroom server's load
        /// test) or `before` (today's engine against the one before its
        /// rebuild, by turns, with instructions per customer).
        #[arg(long, value_name = "PART", value_parser = ["classroom", "before"])]
        only: Option<String>,
        /// Students of the classroom load test (all in one room).
        #[arg(long, default_value_t = 1000)]
        students: usize,
        /// Rounds of the classroom load test (a ping and a prediction each, by turns).
        #[arg(long, default_value_t = 5)]
        load_rounds: usize,
        /// Turns of the sweep speed-up (a 100-run sweep with --jobs 2 and
        /// with --jobs 1, about 30 s a turn); 0 skips it.
        #[arg(long, default_value_t = 3)]
        sweep_turns: u32,
        /// Only the sweep speed-up.
        #[arg(long)]
        sweep_only: bool,
        /// Skip the comparison with the engine before its rebuild.
        #[arg(long)]
        skip_before: bool,
    },
}

fn main() -> ExitCode {
    util::prepare_path();
    let cli = Cli::parse();
    let res = match cli.command {
        Cmd::Setup { bench } => setup::setup(setup::Options {
            bench,
            python: true,
        }),
        Cmd::Serve {
            port,
            host,
            no_build,
            dir,
            classroom,
        } => serve(&host, port, no_build, dir, classroom),
        Cmd::Dist => setup::setup(setup::Options::default()).and_then(|()| site::dist()),
        Cmd::Test { skip } => test::test(&skip),
        Cmd::Fuzz { args } => fuzz::fuzz(&args),
        Cmd::Cli => pgo::build().map(|exe| {
            println!("pgo: the research CLI is {}", exe.display());
            println!(
                "     {} run assets/scenarios/mmc.toml --format table",
                exe.display()
            );
        }),
        Cmd::Bench {
            customers,
            repeats,
            rounds,
            skip_simpy,
            skip_wasm,
            only,
            students,
            load_rounds,
            sweep_turns,
            sweep_only,
            skip_before,
        } => {
            let load = classroom::LoadOptions {
                students,
                rounds: load_rounds,
            };
            if only.as_deref() == Some("classroom") {
                classroom::bench(&load)
            } else {
                bench::bench(bench::Options {
                    customers,
                    repeats,
                    rounds,
                    skip_simpy,
                    skip_wasm,
                    sweep_turns,
                    sweep_only,
                    skip_before,
                    before_only: only.as_deref() == Some("before"),
                })
                .and_then(|()| {
                    if sweep_only || only.is_some() {
                        Ok(())
                    } else {
                        classroom::bench(&load)
                    }
                })
            }
        }
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn serve(
    host: &str,
    port: u16,
    no_build: bool,
    dir: Option<std::path::PathBuf>,
    with_classroom: bool,
) -> util::Result {
    let dist = if let Some(dir) = dir {
        dir
    } else if no_build {
        site::dist_dir()
    } else {
        setup::setup(setup::Options::default())?;
        site::build_release()?
    };
    if with_classroom {
        return classroom::serve(&dist, host, port);
    }
    let server = server::Server::start(&dist, (host, port)).map_err(|e| {
        util::Error(format!(
            "cannot serve on {host}:{port}: {e} (another server running? try --port)"
        ))
    })?;
    println!("serving {} (Ctrl-C to stop)", dist.display());
    println!("tailsim sandbox: http://{}/", server.addr());
    server.wait();
    Ok(())
}
