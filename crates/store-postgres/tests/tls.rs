//! TLS to a real PostgreSQL, as the URL's `sslmode` and `sslrootcert` ask:
//! the test server (Debian's, as `cargo xtask test` installs it) offers TLS
//! with its own self-signed certificate for `localhost`, which is as good a
//! stand-in for a database provider's private authority as there is.

use jiufu_protocol::{MerchantId, Secret};
use jiufu_store::{NewMerchant, Store};
use jiufu_store_postgres::PgStore;
use tokio_postgres::NoTls;

mod common;

struct Server {
    admin: tokio_postgres::Client,
    /// The server's certificate, trusted as its own authority.
    cert: String,
}

/// The test server, or `None` without one (the reason printed).
async fn server() -> Option<Server> {
    let url = common::server_url()?;
    let (admin, conn) = tokio_postgres::connect(&url, NoTls).await.unwrap_or_else(|e| panic!("PostgreSQL at {url}: {e}"));
    tokio::spawn(conn);
    let show = |row: tokio_postgres::Row| row.get::<_, String>(0);
    let ssl = show(admin.query_one("SHOW ssl", &[]).await.unwrap());
    assert_eq!(ssl, "on", "the test server must offer TLS (Debian's default); {url} does not");
    let cert = show(admin.query_one("SHOW ssl_cert_file", &[]).await.unwrap());
    assert!(std::path::Path::new(&cert).exists(), "the test server's certificate {cert} must be readable here");
    Some(Server { admin, cert })
}

/// Whether the connections to database `name` are encrypted, as the server
/// sees them: every one of them (and at least one).
async fn encrypted(admin: &tokio_postgres::Client, name: &str) -> bool {
    let row = admin
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE s.ssl) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.datname = $1",
            &[&name],
        )
        .await
        .unwrap();
    let (all, ssl): (i64, i64) = (row.get(0), row.get(1));
    assert!(all > 0, "no connection to {name}");
    all == ssl
}

/// The whole chain of causes of a refused connection.
#[track_caller]
fn refusal(result: Result<PgStore, jiufu_store::StoreError>) -> String {
    let Err(e) = result else { panic!("the connection was not refused") };
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        text.push_str(&format!(": {c}"));
        cause = c.source();
    }
    text
}

/// A fresh database's URL with `host` for the server's and `query` added.
async fn database(host: &str, query: &str) -> (String, String) {
    let url = common::fresh_database().await.expect("the test server, found before");
    let name = url.rsplit('/').next().unwrap().to_owned();
    let url = url.replacen("@127.0.0.1:", &format!("@{host}:"), 1).replacen("@localhost:", &format!("@{host}:"), 1);
    (format!("{url}{query}"), name)
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_full_checks_the_authority_and_the_name_and_the_store_works_encrypted() {
    let Some(s) = server().await else { return };
    let (url, name) = database("localhost", &format!("?sslmode=verify-full&sslrootcert={}", s.cert)).await;
    let store = PgStore::connect(&url).await.expect("verify-full against the server's own authority, by its name");
    let merchant = NewMerchant {
        id: MerchantId::new(7).unwrap(),
        name: "m".into(),
        key: Secret::new("key-0123456789abcdef"),
        settings: Default::default(),
    };
    store.create_merchant(merchant, 1_700_000_000).await.expect("a write over TLS");
    assert_eq!(store.merchants().await.expect("a read over TLS").len(), 1);
    assert!(encrypted(&s.admin, &name).await, "every connection of the store is encrypted");

    let (by_address, _) = database("127.0.0.1", &format!("?sslmode=verify-full&sslrootcert={}", s.cert)).await;
    let refused = refusal(PgStore::connect(&by_address).await);
    assert!(refused.contains("not valid for name"), "the certificate names localhost, not 127.0.0.1: {refused}");
    let (no_authority, _) = database("localhost", "?sslmode=verify-full").await;
    let refused = refusal(PgStore::connect(&no_authority).await);
    assert!(refused.contains("needs sslrootcert"), "verify-full says whom to trust: {refused}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_other_modes_do_what_libpq_does() {
    let Some(s) = server().await else { return };
    // verify-ca: the authority checked, the name not.
    let (url, name) = database("127.0.0.1", &format!("?sslmode=verify-ca&sslrootcert={}", s.cert)).await;
    PgStore::connect(&url).await.expect("verify-ca by address");
    assert!(encrypted(&s.admin, &name).await);
    // require, and prefer (the default): encrypted, the certificate taken as shown.
    for query in ["?sslmode=require", ""] {
        let (url, name) = database("127.0.0.1", query).await;
        PgStore::connect(&url).await.unwrap_or_else(|e| panic!("{query}: {e}"));
        assert!(encrypted(&s.admin, &name).await, "{query:?} encrypts");
    }
    // require with a root file is verify-ca: another authority's
    // certificate for the same name is refused.
    let dir = tempfile::tempdir().unwrap();
    let impostor = dir.path().join("impostor.pem");
    let made = std::process::Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost", "-keyout"])
        .arg(dir.path().join("impostor.key"))
        .arg("-out")
        .arg(&impostor)
        .output()
        .expect("openssl");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let (url, _) = database("localhost", &format!("?sslmode=require&sslrootcert={}", impostor.display())).await;
    let refused = refusal(PgStore::connect(&url).await);
    // (the impostor has the server's name as its issuer: the signature fails)
    assert!(refused.contains("invalid peer certificate"), "require with sslrootcert checks the authority: {refused}");
    // disable: plain.
    let (url, name) = database("127.0.0.1", "?sslmode=disable").await;
    PgStore::connect(&url).await.expect("disable");
    assert!(!encrypted(&s.admin, &name).await, "disable does not encrypt");
}
