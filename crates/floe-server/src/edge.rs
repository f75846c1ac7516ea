//! The accept loop and request routing.
use crate::AppState;

/// Runs the server until `shutdown` resolves.
pub async fn run(
    state: AppState,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let _ = state;
    shutdown.await;
    Ok(())
}
