//! The 就付 merchant API (`gateway-api.md`).

mod create;
mod dialect;
mod lookup;

use crate::Shared;
use axum::Router;
use axum::routing::{get, post};

pub use create::parse_userid;
pub use dialect::Native;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/gateway", post(create::handle))
        .route("/query/{order_id}", get(lookup::query))
        .route("/qrcode/{order_id}", get(lookup::qrcode))
        .route("/order/{userid}/{order_no}/{sign}", get(lookup::merchant_lookup))
}
