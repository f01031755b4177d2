//! The API's accept loop: HTTP/1.1 with upgrades (WebSockets), a deadline
//! on each request's headers, and a cap on connections per source address.
//! `axum::serve` has neither, and a client sending one header line a second
//! held a connection open for good. A connection upgraded to a WebSocket
//! keeps its place in the count, and the loop's end waits for it too.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tower::ServiceExt;

use crate::ConnectionLimits;

/// Open connections per source address, and a signal when none is left.
#[derive(Clone, Default)]
struct Sources(Arc<(Mutex<HashMap<IpAddr, usize>>, Notify)>);

/// One connection counted against its source until dropped.
struct Slot {
    sources: Sources,
    ip: IpAddr,
}

/// Put in the extensions of every request a connection carries: a handler
/// that upgrades the connection (a WebSocket) keeps it for as long as it
/// serves, so that the upgraded stream still counts against its source and
/// the server's stop waits for it. Hyper hands an upgraded connection over
/// and forgets it; without this, WebSockets escaped both.
#[derive(Clone)]
pub struct ConnectionHeld {
    _slot: Arc<Slot>,
}

impl Sources {
    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.0 .0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take(&self, ip: IpAddr, most: usize) -> Option<Slot> {
        let mut open = self.open();
        let count = open.entry(ip).or_insert(0);
        if *count >= most {
            return None;
        }
        *count += 1;
        Some(Slot {
            sources: self.clone(),
            ip,
        })
    }

    /// Returns once every slot is given back.
    async fn all_closed(&self) {
        loop {
            let closed = self.0 .1.notified();
            let mut closed = std::pin::pin!(closed);
            closed.as_mut().enable();
            if self.open().is_empty() {
                return;
            }
            closed.await;
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.sources.open();
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
        if open.is_empty() {
            self.sources.0 .1.notify_waiters();
        }
    }
}

/// Serves `router` on `listener` until `stopped`; then lets the requests in
/// flight finish (the daemon's stop bounds how long).
pub(crate) async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: ConnectionLimits,
    mut stopped: watch::Receiver<bool>,
) {
    let sources = Sources::default();
    // Dropped with this task (a stop past its grace cancels it), the set
    // cancels every connection still open: none outlives the daemon.
    let mut connections = tokio::task::JoinSet::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    loop {
        let (tcp, peer) = tokio::select! {
            // The answer (a borrow of the flag) must not live on here.
            () = async { let _ = stopped.wait_for(|s| *s).await; } => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors, most often: let some close.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(slot) = sources.take(peer.ip(), limits.per_source) else {
            tracing::debug!(%peer, "too many connections from this source; closed");
            continue;
        };
        // Heads and bodies go out in separate writes: without NODELAY,
        // Nagle and the client's delayed ACK add 40 ms to each answer.
        let _ = tcp.set_nodelay(true);
        let held = ConnectionHeld {
            _slot: Arc::new(slot),
        };
        let service = router
            .clone()
            .map_request(move |mut request: axum::extract::Request<_>| {
                request.extensions_mut().insert(held.clone());
                request
            });
        let service = hyper_util::service::TowerToHyperService::new(service);
        let connection = http
            .serve_connection(TokioIo::new(tcp), service)
            .with_upgrades();
        let mut stopping = stopped.clone();
        connections.spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let result = tokio::select! {
                result = connection.as_mut() => result,
                () = async { let _ = stopping.wait_for(|s| *s).await; } => {
                    // Requests in flight finish; the connection then closes.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended");
            }
        });
    }
    while connections.join_next().await.is_some() {}
    // Upgraded connections (WebSockets) end on the same stop.
    sources.all_closed().await;
}
