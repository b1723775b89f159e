//! What the crate's own tests share: a store on a temporary file, orders
//! as the gateway sends them, payments as a source reports them.

use crate::matcher::NewObservation;
use crate::model::SeenBy;
use crate::store::Db;
use jiufu_protocol::collector::{OrderWire, SourceKind};
use jiufu_protocol::{Channel, Fen, ObservationId, OrderId, OrderState};

/// A fresh store; it lives as long as the directory.
pub fn temp_db() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Db::open(&dir.path().join("collector.db")).expect("store");
    (dir, db)
}

/// The order id a test calls `name` (padded to an id's 22 characters).
pub fn order_id(name: &str) -> OrderId {
    OrderId::parse(&format!("{name:_<22}")).expect("a test order's name is a short id")
}

/// An Alipay order of `fen` in `state`, created at `created_s` (epoch
/// seconds), expiring 5 minutes later, its quarantine 10 minutes after that.
pub fn order(id: &str, state: OrderState, fen: i64, created_s: i64) -> OrderWire {
    OrderWire {
        order_id: order_id(id),
        order_no: format!("no-{id}"),
        channel: Channel::P901.into(),
        state: state.into(),
        order_amount: Fen(fen).into(),
        payable_amount: Fen(fen).into(),
        subject: "测试".into(),
        created_at: created_s,
        expire_at: created_s + 300,
        quarantine_until: created_s + 900,
        claimed_at: None,
        dialect: jiufu_protocol::Dialect::Jiufu.into(),
    }
}

/// An Alipay payment of `fen` seen by `source` at `t` (epoch ms).
pub fn payment(source: SourceKind, fen: i64, t: i64) -> NewObservation {
    NewObservation {
        id: ObservationId::generate(),
        source: SeenBy::from(source),
        channel: Channel::P901,
        amount: Fen(fen),
        observed_at: t,
        app: "com.eg.android.AlipayGphone".into(),
        title: "支付宝".into(),
        text: format!("成功收款{}元", Fen(fen)),
        posted: Default::default(),
    }
}
