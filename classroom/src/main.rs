//! `tailsim-classroom`: the classroom server (`cargo xtask serve
//! --classroom` builds the site and runs this), and its load generator.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use classroom::limits::Limits;
use classroom::server::{self, Config};

#[derive(Parser)]
#[command(
    name = "tailsim-classroom",
    version,
    about = "tailsim's classroom server"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to bind: 127.0.0.1 (this computer only) unless told otherwise;
    /// 0.0.0.0 lets phones on the same network join.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// The built site to serve (`dist/` of `trunk build`).
    #[arg(long, value_name = "DIR")]
    dist: Option<PathBuf>,
    /// Students in one room.
    #[arg(long, default_value_t = Limits::default().max_students)]
    max_students: usize,
    /// Rooms on the server at once.
    #[arg(long, default_value_t = Limits::default().max_rooms)]
    max_rooms: usize,
}

#[derive(Subcommand)]
enum Cmd {
    /// Load test: N students in one room of a running server, on loopback.
    Load {
        /// The server's address (loopback only).
        #[arg(long)]
        addr: SocketAddr,
        #[arg(long, default_value_t = 1000)]
        students: usize,
        /// Rounds of pings then predictions (by turns).
        #[arg(long, default_value_t = 5)]
        rounds: usize,
        /// The server's process id, to read its memory (Linux).
        #[arg(long)]
        pid: Option<u32>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    raise_fd_limit();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let res = match cli.command {
        None => rt.block_on(serve(cli.serve)),
        Some(Cmd::Load {
            addr,
            students,
            rounds,
            pid,
        }) => rt.block_on(async {
            let opts = classroom::load::Options {
                addr,
                students,
                rounds,
                server_pid: pid,
            };
            let report = classroom::load::run(opts).await?;
            println!(
                "{}",
                serde_json::to_string(&report).expect("report serialises")
            );
            Ok(())
        }),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tailsim-classroom: error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let limits = Limits {
        max_students: args.max_students,
        max_rooms: args.max_rooms,
        ..Limits::default()
    };
    let config = Config {
        addr: SocketAddr::new(args.host, args.port),
        dist: args.dist,
        limits,
    };
    let running = server::start(config).await.map_err(|e| {
        format!(
            "cannot listen on {}:{}: {e} (another server? try --port)",
            args.host, args.port
        )
    })?;
    // The first line names the address (the xtask and the bench read it).
    println!("tailsim classroom: listening on http://{}/", running.addr);
    println!("{}", server::startup_message(running.addr));
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| format!("waiting for Ctrl-C: {e}"))?;
    println!("tailsim classroom: stopped; every room is gone (nothing is stored)");
    Ok(())
}

/// 1,000 students are 1,000 sockets: lift the soft limit on open files to
/// the hard one (often 1,024 and 524,288).
fn raise_fd_limit() {
    #[cfg(unix)]
    unsafe {
        let mut l = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < l.rlim_max {
            l.rlim_cur = l.rlim_max.min(65_536);
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}
