//! TLS to PostgreSQL, asked for in the URL the way libpq reads it:
//! `sslmode` = `disable`, `allow` / `prefer` (the default: encrypted when
//! the server offers it), `require`, `verify-ca` or `verify-full`, and
//! `sslrootcert` = a PEM file of the certificate authorities to trust, or
//! `system` for the system's (required by the `verify-*` modes, as in
//! libpq 16). As in libpq, `require` with a `sslrootcert` checks the chain
//! like `verify-ca`; only `verify-full` also checks that the certificate
//! names the host — the one to use across a network.

use jiufu_store::{Result, StoreError};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;
use tokio_postgres::config::SslMode;

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    /// Encrypted, but any certificate is taken (libpq's `prefer`/`require`).
    Nothing,
    /// Signed by a trusted authority, whatever name it carries.
    Chain,
    /// Signed by a trusted authority and naming the host connected to.
    ChainAndName,
}

/// `url` as tokio-postgres reads it, and the TLS connector its `sslmode`
/// and `sslrootcert` ask for.
pub fn connection(url: &str) -> Result<(tokio_postgres::Config, tokio_postgres_rustls::MakeRustlsConnect)> {
    let (rest, mode, root) = take_tls_params(url)?;
    let mut config: tokio_postgres::Config = rest.parse().map_err(|e| StoreError::context("the PostgreSQL URL is not valid", e))?;
    let (ssl_mode, check) = match mode.as_deref().unwrap_or("prefer") {
        "disable" => (SslMode::Disable, Check::Nothing),
        "allow" | "prefer" => (SslMode::Prefer, if root.is_some() { Check::Chain } else { Check::Nothing }),
        "require" => (SslMode::Require, if root.is_some() { Check::Chain } else { Check::Nothing }),
        "verify-ca" => (SslMode::Require, Check::Chain),
        "verify-full" => (SslMode::Require, Check::ChainAndName),
        other => {
            return Err(StoreError::failure(format!(
                "sslmode={other} is not one of disable, allow, prefer, require, verify-ca, verify-full"
            )));
        }
    };
    if check != Check::Nothing && root.is_none() {
        return Err(StoreError::failure(format!(
            "sslmode={} needs sslrootcert: the file of the authorities to trust, or sslrootcert=system",
            mode.as_deref().unwrap_or_default()
        )));
    }
    config.ssl_mode(ssl_mode);
    let tls = client_config(check, root.as_deref())?;
    Ok((config, tokio_postgres_rustls::MakeRustlsConnect::new(tls)))
}

/// Takes `sslmode` and `sslrootcert` out of a URL's query (tokio-postgres
/// knows neither `verify-*` nor `sslrootcert`); the rest is left as given.
fn take_tls_params(url: &str) -> Result<(String, Option<String>, Option<String>)> {
    let Some((base, query)) = url.split_once('?') else { return Ok((url.to_owned(), None, None)) };
    let (mut mode, mut root, mut kept) = (None, None, Vec::new());
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decoded = || percent_decode(value).ok_or_else(|| StoreError::failure(format!("the PostgreSQL URL's {key} is not valid")));
        match key {
            "sslmode" => mode = Some(decoded()?),
            "sslrootcert" => root = Some(decoded()?),
            _ => kept.push(pair),
        }
    }
    let rest = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
    Ok((rest, mode, root))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn client_config(check: Check, root: Option<&str>) -> Result<ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::context("TLS set-up", e))?;
    let algorithms = provider.signature_verification_algorithms;
    let verifier: Arc<dyn ServerCertVerifier> = match check {
        Check::Nothing => Arc::new(Lenient { chain: None, algorithms }),
        Check::Chain | Check::ChainAndName => {
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots(root)?), provider)
                .build()
                .map_err(|e| StoreError::context("TLS set-up", e))?;
            if check == Check::Chain { Arc::new(Lenient { chain: Some(webpki), algorithms }) } else { webpki }
        }
    };
    Ok(builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth())
}

/// The authorities in the `sslrootcert` file, or the system's.
fn roots(root: Option<&str>) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    match root {
        Some("system") | None => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
        }
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(|e| StoreError::context(format!("cannot read the certificates in sslrootcert {path}"), e))?;
            let (added, _) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(StoreError::failure(format!("sslrootcert {path} holds no usable certificate")));
            }
        }
    }
    Ok(store)
}

/// libpq's `prefer`/`require` without a root file (`chain: None`): the
/// connection is encrypted and the handshake checked against the
/// certificate shown, but who signed it is not. `verify-ca` (`chain`): the
/// whole chain checked, the name in the certificate not.
#[derive(Debug)]
struct Lenient {
    chain: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else { return Ok(ServerCertVerified::assertion()) };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
            Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. })) => {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_are_taken_out_and_the_rest_kept() {
        let (rest, mode, root) =
            take_tls_params("postgres://u:p@db.internal/jiufu?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=gw")
                .unwrap();
        assert_eq!(rest, "postgres://u:p@db.internal/jiufu?application_name=gw");
        assert_eq!((mode.as_deref(), root.as_deref()), (Some("verify-full"), Some("/etc/ca.pem")));
        let (rest, mode, root) = take_tls_params("postgres://u@h/d").unwrap();
        assert_eq!((rest.as_str(), mode, root), ("postgres://u@h/d", None, None));
        assert!(connection("postgres://u@h/d?sslmode=maybe").is_err());
        let refused = connection("postgres://u@h/d?sslmode=verify-full").err().expect("refused").to_string();
        assert!(refused.contains("needs sslrootcert"), "{refused}");
        assert!(connection("postgres://u@h/d?sslmode=verify-full&sslrootcert=system").is_ok());
        assert!(connection("postgres://u@h/d?sslmode=verify-full&sslrootcert=/nonexistent.pem").is_err());
    }
}
