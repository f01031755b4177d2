//! Debian's `pebble`, a real ACME server for tests: started on free
//! loopback ports, resolving names through the test's DNS server, and
//! checking HTTP-01 challenges on the port the test names.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::free_port;

/// A running Pebble, stopped when dropped.
pub struct Pebble {
    child: Child,
    /// The ACME directory URL.
    pub directory: String,
    /// The root that signs Pebble's own HTTPS certificate (trust it to
    /// talk to the directory).
    pub listener_ca: PathBuf,
    /// The management API (`/roots/0` gives the root of issued certificates).
    pub management: SocketAddr,
}

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `pebble` under `dir`. It resolves names with `dns` and checks
/// HTTP-01 answers on `http_port`. Panics with what to install when the
/// binary is missing.
pub async fn start(dir: &Path, dns: SocketAddr, http_port: u16) -> Pebble {
    std::fs::create_dir_all(dir).expect("the pebble directory");
    // Pebble's own listener needs a certificate; Debian ships none.
    let key = rcgen::KeyPair::generate().expect("a key");
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    params.subject_alt_names.push(rcgen::SanType::IpAddress(
        "127.0.0.1".parse().expect("an IP"),
    ));
    let cert = params.self_signed(&key).expect("a self-signed certificate");
    let (cert_pem, key_pem) = (dir.join("listener.pem"), dir.join("listener.key"));
    std::fs::write(&cert_pem, cert.pem()).expect("write the certificate");
    std::fs::write(&key_pem, key.serialize_pem()).expect("write the key");
    let (acme_port, management_port) = (free_port(), free_port());
    let config = serde_json::json!({
        "pebble": {
            "listenAddress": format!("127.0.0.1:{acme_port}"),
            "managementListenAddress": format!("127.0.0.1:{management_port}"),
            "certificate": cert_pem,
            "privateKey": key_pem,
            "httpPort": http_port,
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false
        }
    });
    let config_path = dir.join("pebble.json");
    std::fs::write(&config_path, config.to_string()).expect("write the config");
    let log = std::fs::File::create(dir.join("pebble.log")).expect("the log file");
    let child = Command::new("pebble")
        .arg("-config")
        .arg(&config_path)
        .arg("-dnsserver")
        .arg(dns.to_string())
        // No random waits before validating, and no refused nonces.
        .env("PEBBLE_VA_NOSLEEP", "1")
        .env("PEBBLE_WFE_NONCEREJECT", "0")
        .stdout(Stdio::from(log.try_clone().expect("the log file")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("pebble runs (apt-get install pebble)");
    let pebble = Pebble {
        child,
        directory: format!("https://127.0.0.1:{acme_port}/dir"),
        listener_ca: cert_pem,
        management: SocketAddr::from(([127, 0, 0, 1], management_port)),
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", acme_port))
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "pebble did not listen within 20 s; see {}",
            dir.join("pebble.log").display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    pebble
}

/// One HTTPS GET over rustls, trusting only `roots` (PEM), sent to `addr`
/// with `server_name` as SNI and Host. Returns (status, body).
pub async fn https_get(
    addr: SocketAddr,
    server_name: &str,
    path: &str,
    roots_pem: &[u8],
) -> Result<(u16, String), String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(roots_pem) {
        roots
            .add(cert.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from(server_name.to_owned()).map_err(|e| e.to_string())?;
    let mut tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS: {e}"))?;
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {server_name}\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no HTTP answer: {text:?}"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// Waits up to 120 s for an HTTPS answer from `addr` for `domain`'s `/`
/// ([`https_get`], trusting only `roots_pem`): once its certificate is
/// issued. Returns (status, body).
pub async fn https_answer(addr: SocketAddr, domain: &str, roots_pem: &[u8]) -> (u16, String) {
    crate::wait_until(
        "an HTTPS answer for the domain",
        Duration::from_secs(120),
        move || async move { https_get(addr, domain, "/", roots_pem).await.ok() },
    )
    .await
}

/// Pebble's root for the certificates it issues (random per run).
pub async fn issuing_root(pebble: &Pebble) -> Vec<u8> {
    let listener_ca = std::fs::read(&pebble.listener_ca).expect("the listener CA");
    let (status, body) = https_get(pebble.management, "localhost", "/roots/0", &listener_ca)
        .await
        .expect("pebble's management API answers");
    assert_eq!(status, 200, "{body}");
    body.into_bytes()
}
