//! The keeper daemon: `keeper --config keeper.toml`. Indexes the engine, margins accounts every
//! block, cosigns with its peers over HTTP, submits batches as the rotating leader, serves
//! `/metrics`; stops cleanly on Ctrl-C (SIGINT) or SIGTERM.

use std::{path::PathBuf, time::Duration};

use clap::Parser;
use margin_keeper::{config::KeeperConfig, KeeperError};
use tracing::{error, info};

#[derive(Parser)]
#[command(about = "Cross-margin keeper daemon")]
struct Args {
    /// TOML configuration (see keeper/keeper.example.toml).
    #[arg(long)]
    config: PathBuf,
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

async fn run(args: Args) -> Result<(), KeeperError> {
    let text = std::fs::read_to_string(&args.config)?;
    let config = KeeperConfig::parse(&text)?;
    let node = config.node().await?;
    let listener = tokio::net::TcpListener::bind(&config.listen).await?;
    info!(keeper = %config.name, address = %node.address(), listen = %config.listen, "keeper up");
    let (tx, rx) = tokio::sync::watch::channel(false);
    let mut http_rx = rx.clone();
    let server = node.serve(listener, async move {
        let _ = http_rx.changed().await;
    });
    let worker = {
        let node = node.clone();
        tokio::spawn(async move { node.run(Duration::from_millis(config.poll_ms), rx).await })
    };
    shutdown_signal().await;
    info!("shutting down: finishing the current round");
    let _ = tx.send(true);
    let _ = worker.await;
    let _ = server.await;
    Ok(())
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    if let Err(e) = run(Args::parse()).await {
        error!(error = %e, "keeper failed");
        std::process::exit(1);
    }
}
