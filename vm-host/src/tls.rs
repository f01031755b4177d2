//! Custom domains over HTTPS: the certificates (one per bound domain, kept
//! on disk), the rustls resolver that picks one by SNI, and the TLS
//! listener that hands decrypted connections to the same router.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::ring::sign::any_supported_type;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Why a certificate could not be kept or used.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// Reading or writing its files.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// The PEM did not parse, or the key is of a kind rustls cannot use.
    #[error("certificate for {0}: {1}")]
    Invalid(String, String),
}

/// A certificate and key per domain, on disk under `dir` as
/// `<domain>.crt` (the chain) and `<domain>.key`.
#[derive(Debug)]
pub struct CertStore {
    dir: PathBuf,
    loaded: RwLock<HashMap<String, (Arc<CertifiedKey>, SystemTime)>>,
}

/// When the first certificate of a PEM chain stops being valid.
pub fn not_after(chain_pem: &[u8]) -> Result<SystemTime, String> {
    let first = CertificateDer::pem_slice_iter(chain_pem)
        .next()
        .ok_or("no certificate in the chain")?
        .map_err(|e| e.to_string())?;
    let (_, cert) = x509_parser::parse_x509_certificate(&first).map_err(|e| e.to_string())?;
    let secs = cert.validity().not_after.timestamp();
    Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0)))
}

fn certified(domain: &str, chain_pem: &[u8], key_pem: &[u8]) -> Result<CertifiedKey, CertError> {
    let invalid = |e: String| CertError::Invalid(domain.to_owned(), e);
    let chain = CertificateDer::pem_slice_iter(chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(e.to_string()))?;
    if chain.is_empty() {
        return Err(invalid("no certificate in the chain".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| invalid(e.to_string()))?;
    let key = any_supported_type(&key).map_err(|e| invalid(e.to_string()))?;
    Ok(CertifiedKey::new(chain, key))
}

impl CertStore {
    /// Opens `dir`, loading every certificate in it.
    pub fn open(dir: &Path) -> Result<CertStore, CertError> {
        std::fs::create_dir_all(dir).map_err(|e| CertError::Io(dir.display().to_string(), e))?;
        let store = CertStore {
            dir: dir.to_path_buf(),
            loaded: RwLock::default(),
        };
        let entries =
            std::fs::read_dir(dir).map_err(|e| CertError::Io(dir.display().to_string(), e))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(domain) = name.strip_suffix(".crt") {
                if let Err(e) = store.load(domain) {
                    tracing::warn!(domain, error = %e, "stored certificate not loaded");
                }
            }
        }
        Ok(store)
    }

    fn files(&self, domain: &str) -> (PathBuf, PathBuf) {
        (
            self.dir.join(format!("{domain}.crt")),
            self.dir.join(format!("{domain}.key")),
        )
    }

    fn load(&self, domain: &str) -> Result<(), CertError> {
        let (crt, key) = self.files(domain);
        let read =
            |p: &Path| std::fs::read(p).map_err(|e| CertError::Io(p.display().to_string(), e));
        let (chain, key) = (read(&crt)?, read(&key)?);
        let expires = not_after(&chain).map_err(|e| CertError::Invalid(domain.to_owned(), e))?;
        let certified = certified(domain, &chain, &key)?;
        self.loaded
            .write()
            .unwrap()
            .insert(domain.to_owned(), (Arc::new(certified), expires));
        Ok(())
    }

    /// Keeps `chain_pem` and `key_pem` for `domain` (the key file readable
    /// by this user only) and serves them from now on.
    pub fn install(&self, domain: &str, chain_pem: &[u8], key_pem: &[u8]) -> Result<(), CertError> {
        // Checked before anything is written: a bad pair replaces nothing.
        certified(domain, chain_pem, key_pem)?;
        let (crt, key) = self.files(domain);
        let io = |p: &Path| {
            let p = p.display().to_string();
            move |e| CertError::Io(p, e)
        };
        let tmp_key = key.with_extension("key.tmp");
        {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp_key)
                .map_err(io(&tmp_key))?;
            f.write_all(key_pem).map_err(io(&tmp_key))?;
        }
        let tmp_crt = crt.with_extension("crt.tmp");
        std::fs::write(&tmp_crt, chain_pem).map_err(io(&tmp_crt))?;
        std::fs::rename(&tmp_key, &key).map_err(io(&key))?;
        std::fs::rename(&tmp_crt, &crt).map_err(io(&crt))?;
        self.load(domain)
    }

    /// When `domain`'s certificate expires, if there is one.
    pub fn expires(&self, domain: &str) -> Option<SystemTime> {
        self.loaded.read().unwrap().get(domain).map(|(_, t)| *t)
    }
}

/// Picks the certificate by the name the client asked for.
#[derive(Debug)]
pub struct Resolver(pub Arc<CertStore>);

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let name = hello.server_name()?.to_ascii_lowercase();
        self.0
            .loaded
            .read()
            .unwrap()
            .get(&name)
            .map(|(key, _)| key.clone())
    }
}

/// A rustls server config answering with the store's certificates.
pub fn server_config(store: Arc<CertStore>) -> Arc<rustls::ServerConfig> {
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("ring supports the default protocol versions")
    .with_no_client_auth()
    .with_cert_resolver(Arc::new(Resolver(store)));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// Accepts TLS connections on `listener` and serves `router` over them
/// until `stopped` turns true.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: Arc<rustls::ServerConfig>,
    router: axum::Router,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    loop {
        let (tcp, peer) = tokio::select! {
            _ = stopped.wait_for(|s| *s) => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "TLS accept failed");
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let (acceptor, router) = (acceptor.clone(), router.clone());
        tokio::spawn(async move {
            let tls =
                match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) => {
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => return,
                };
            let service = hyper_util::service::TowerToHyperService::new(router);
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await
            {
                tracing::debug!(%peer, error = %e, "TLS connection ended");
            }
        });
    }
}
