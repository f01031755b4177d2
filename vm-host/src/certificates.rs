//! The background task that keeps a certificate for every custom domain.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tracing::Instrument;

use crate::{acme, router, tls};

/// Keeps a certificate for every bound domain: obtains one when missing,
/// renews it `renew_before` its expiry, retries failures with backoff.
pub(crate) async fn certificates(
    config: acme::AcmeConfig,
    dir: PathBuf,
    challenges: acme::Challenges,
    domains: router::Domains,
    certs: Arc<tls::CertStore>,
    changed: Arc<tokio::sync::Notify>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let mut account: Option<acme::Acme> = None;
    let mut retry_at: HashMap<String, (tokio::time::Instant, Duration)> = HashMap::new();
    loop {
        let names: Vec<String> = domains
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        let now = std::time::SystemTime::now();
        for domain in names {
            let due = certs
                .expires(&domain)
                .is_none_or(|t| t <= now + config.renew_before);
            let waiting = retry_at
                .get(&domain)
                .is_some_and(|(at, _)| *at > tokio::time::Instant::now());
            if !due || waiting {
                continue;
            }
            let span = tracing::info_span!("certificate", %domain);
            let result = async {
                if account.is_none() {
                    account = Some(acme::Acme::open(&config, &dir, challenges.clone()).await?);
                }
                let (chain, key) = account
                    .as_ref()
                    .expect("just opened")
                    .issue(&domain)
                    .await?;
                certs
                    .install(&domain, chain.as_bytes(), key.as_bytes())
                    .map_err(|e| acme::AcmeError::Order(domain.clone(), e.to_string()))
            }
            .instrument(span)
            .await;
            match result {
                Ok(()) => {
                    tracing::info!(%domain, "certificate obtained");
                    retry_at.remove(&domain);
                }
                Err(e) => {
                    let wait = retry_at
                        .get(&domain)
                        .map_or(Duration::from_secs(2), |(_, w)| {
                            (*w * 2).min(Duration::from_secs(3600))
                        });
                    tracing::warn!(%domain, error = %e, retry_secs = wait.as_secs(), "no certificate");
                    retry_at.insert(domain, (tokio::time::Instant::now() + wait, wait));
                }
            }
        }
        let next_retry = retry_at.values().map(|(at, _)| *at).min();
        let sleep = next_retry
            .map_or(Duration::from_secs(3600), |at| {
                at.saturating_duration_since(tokio::time::Instant::now())
            })
            .min(Duration::from_secs(3600));
        tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            _ = changed.notified() => {}
            _ = tokio::time::sleep(sleep) => {}
        }
    }
}
