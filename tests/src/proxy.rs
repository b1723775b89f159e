//! A load balancer in front of gateway instances, reduced to what a test
//! needs: every connection goes to the current target, and switching
//! targets cuts the connections already open (as a failover does), so
//! clients reconnect to the new one.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

pub struct Balancer {
    target: Arc<Mutex<SocketAddr>>,
    open: Arc<Mutex<Vec<AbortHandle>>>,
    pub url: String,
}

fn addr(url: &str) -> SocketAddr {
    url.trim_start_matches("http://").parse().expect("http://IP:PORT")
}

impl Balancer {
    pub async fn start(first: &str) -> Balancer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind balancer");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let target = Arc::new(Mutex::new(addr(first)));
        let open: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (t, o) = (target.clone(), open.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let to = *t.lock().unwrap();
                let task = tokio::spawn(async move {
                    if let Ok(mut upstream) = TcpStream::connect(to).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                });
                o.lock().unwrap().push(task.abort_handle());
            }
        });
        Balancer { target, open, url }
    }

    /// Sends new connections to `url` and cuts the open ones.
    pub fn switch_to(&self, url: &str) {
        *self.target.lock().unwrap() = addr(url);
        for task in self.open.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}
