//! Certificates for custom domains by ACME (HTTP-01), with `instant-acme`.
//! The account is kept on disk; each order's challenge answers are served
//! by the router at `/.well-known/acme-challenge/<token>` on the plain
//! HTTP port, which is where the CA comes to check.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};

/// Where and how to get certificates.
#[derive(Debug, Clone)]
pub struct AcmeConfig {
    /// The CA's ACME directory URL.
    pub directory: String,
    /// A PEM root to trust for the directory's HTTPS (a test CA such as
    /// Pebble); the system's roots when `None`.
    pub ca_pem: Option<PathBuf>,
    /// Contact URLs for the account, e.g. `mailto:ops@example.com`.
    pub contact: Vec<String>,
    /// Renew a certificate this long before it expires.
    pub renew_before: Duration,
}

/// Why a certificate could not be had.
#[derive(Debug, thiserror::Error)]
pub enum AcmeError {
    /// The CA refused or failed.
    #[error("ACME: {0}")]
    Acme(#[from] instant_acme::Error),
    /// The account file.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// The order ended otherwise than ready.
    #[error("the order for {0} ended {1}")]
    Order(String, String),
}

/// Challenge tokens and the key authorizations to answer them with.
pub type Challenges = Arc<RwLock<HashMap<String, String>>>;

/// An ACME account and the challenges it has open.
pub struct Acme {
    account: Account,
    challenges: Challenges,
}

impl Acme {
    /// The account kept in `dir/account.json`, or a new one there.
    pub async fn open(
        config: &AcmeConfig,
        dir: &Path,
        challenges: Challenges,
    ) -> Result<Acme, AcmeError> {
        let builder = || match &config.ca_pem {
            Some(pem) => Account::builder_with_root(pem),
            None => Account::builder(),
        };
        let file = dir.join("account.json");
        let saved: Option<AccountCredentials> = std::fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        let account = match saved {
            Some(credentials) => builder()?.from_credentials(credentials).await?,
            None => {
                let contact: Vec<&str> = config.contact.iter().map(String::as_str).collect();
                let (account, credentials) = builder()?
                    .create(
                        &NewAccount {
                            contact: &contact,
                            terms_of_service_agreed: true,
                            only_return_existing: false,
                        },
                        config.directory.clone(),
                        None,
                    )
                    .await?;
                std::fs::create_dir_all(dir)
                    .map_err(|e| AcmeError::Io(dir.display().to_string(), e))?;
                let json = serde_json::to_vec(&credentials).expect("credentials serialize");
                write_private(&file, &json)
                    .map_err(|e| AcmeError::Io(file.display().to_string(), e))?;
                account
            }
        };
        Ok(Acme {
            account,
            challenges,
        })
    }

    /// A certificate for `domain`: (chain PEM, private key PEM).
    pub async fn issue(&self, domain: &str) -> Result<(String, String), AcmeError> {
        let identifiers = [Identifier::Dns(domain.to_owned())];
        let mut order = self.account.new_order(&NewOrder::new(&identifiers)).await?;
        let mut tokens = Vec::new();
        let result = async {
            let mut authorizations = order.authorizations();
            while let Some(authorization) = authorizations.next().await {
                let mut authorization = authorization?;
                if authorization.status == AuthorizationStatus::Valid {
                    continue;
                }
                let mut challenge =
                    authorization
                        .challenge(ChallengeType::Http01)
                        .ok_or_else(|| {
                            AcmeError::Order(
                                domain.to_owned(),
                                "without an http-01 challenge".into(),
                            )
                        })?;
                let token = challenge.token.clone();
                self.challenges.write().unwrap().insert(
                    token.clone(),
                    challenge.key_authorization().as_str().to_owned(),
                );
                tokens.push(token);
                challenge.set_ready().await?;
            }
            let retry = RetryPolicy::new().timeout(Duration::from_secs(90));
            match order.poll_ready(&retry).await? {
                OrderStatus::Ready => {}
                other => return Err(AcmeError::Order(domain.to_owned(), format!("{other:?}"))),
            }
            let key = order.finalize().await?;
            let chain = order.poll_certificate(&retry).await?;
            Ok((chain, key))
        }
        .await;
        let mut challenges = self.challenges.write().unwrap();
        for token in tokens {
            challenges.remove(&token);
        }
        result
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}
