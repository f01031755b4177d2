//! One probe of one resource node, over HTTP like any client.

use std::time::{Duration, Instant};

use futures_util::StreamExt;

use crate::config::Reference;
use crate::score::{capacity_bps, credible_vcpus, Probe};

/// Reads at most `limit` bytes of an answer: a hostile node cannot make
/// the checker hold a huge body.
async fn body_limited(response: reqwest::Response, limit: usize) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.ok()?;
        if body.len() + chunk.len() > limit {
            return None;
        }
        body.extend_from_slice(&chunk);
    }
    Some(body)
}

/// Probes the node at `endpoint`, registered with `registered` (vCPUs,
/// memory MiB): its usage API, then the reference program.
pub async fn probe(
    http: &reqwest::Client,
    endpoint: &str,
    registered: (u64, u64),
    reference: Option<&Reference>,
    timeout: Duration,
    limit: usize,
) -> Probe {
    let base = endpoint.trim_end_matches('/');
    let started = Instant::now();
    let usage = async {
        let response = http
            .get(format!("{base}/about/usage"))
            .timeout(timeout)
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        let body = body_limited(response, limit).await?;
        serde_json::from_slice::<serde_json::Value>(&body).ok()
    }
    .await;
    let latency_ms = started.elapsed().as_millis() as u64;
    let Some(usage) = usage else {
        return Probe {
            reachable: false,
            latency_ms,
            capacity_bps: 0,
            reference: reference.map(|_| false),
        };
    };
    let reported = (
        credible_vcpus(
            usage["capacity"]["vcpus"].as_u64().unwrap_or(0),
            usage["capacity"]["cores"].as_u64(),
        ),
        usage["capacity"]["memory_mib"].as_u64().unwrap_or(0),
    );
    let reference = match reference {
        None => None,
        Some(r) => Some(
            async {
                let path = if r.path.starts_with('/') {
                    r.path.clone()
                } else {
                    format!("/{}", r.path)
                };
                let response = http
                    .get(format!("{base}/vm/{}{path}", r.program))
                    .timeout(timeout)
                    .send()
                    .await
                    .ok()?;
                if !response.status().is_success() {
                    return Some(false);
                }
                let body = body_limited(response, limit).await?;
                Some(String::from_utf8_lossy(&body).contains(&r.expect))
            }
            .await
            .unwrap_or(false),
        ),
    };
    Probe {
        reachable: true,
        latency_ms,
        capacity_bps: capacity_bps(reported, registered),
        reference,
    }
}
