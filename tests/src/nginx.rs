//! nginx in front of gateway instances, configured with the example in
//! `docs/deploy.md` exactly as written there — only the upstream
//! addresses and the TLS listener are this machine's — so the documented
//! configuration is the tested one.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Nginx {
    child: Child,
    dir: tempfile::TempDir,
    pub url: String,
}

/// The ```nginx block of the deployment guide.
pub fn documented_config() -> String {
    let guide = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/deploy.md");
    let text = std::fs::read_to_string(&guide).expect("docs/deploy.md");
    let start = text.find("```nginx\n").expect("an nginx example in docs/deploy.md") + "```nginx\n".len();
    let len = text[start..].find("```").expect("the end of the nginx example");
    text[start..start + len].to_owned()
}

fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "the documented nginx config has {from:?} once");
    text.replace(from, to)
}

impl Nginx {
    /// nginx with the documented config; `upstreams` are `http://IP:PORT`
    /// of the instances in place of the guide's two addresses.
    pub async fn start(upstreams: [&str; 2]) -> Nginx {
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port();
        let mut site = documented_config();
        site = replace_once(&site, "10.0.0.11:8080", upstreams[0].trim_start_matches("http://"));
        site = replace_once(&site, "10.0.0.12:8080", upstreams[1].trim_start_matches("http://"));
        site = replace_once(&site, "listen 443 ssl http2;", &format!("listen 127.0.0.1:{port};"));
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().display();
        let conf = format!(
            "worker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 256; }}\n\
             http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  \
             fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n{site}\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), conf).expect("write nginx.conf");
        let nginx = ["/usr/sbin/nginx", "nginx"].into_iter().find(|p| Path::new(p).exists()).unwrap_or("nginx");
        let child = Command::new(nginx)
            .args(["-e", &format!("{d}/error.log"), "-p", &d.to_string(), "-c", &format!("{d}/nginx.conf")])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nginx (cargo xtask test installs it)");
        let server = Nginx { child, dir, url: format!("http://127.0.0.1:{port}") };
        let health = format!("{}/health", server.url);
        let up = crate::wait_for(Duration::from_secs(15), || async {
            crate::http().get(&health).send().await.ok().filter(|r| r.status().is_success()).map(|_| ())
        })
        .await;
        assert!(up.is_some(), "nginx did not come up: {}", server.error_log());
        server
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // TERM first: the master then stops its workers too; KILL if it
        // has not gone within a few seconds.
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
