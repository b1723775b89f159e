//! Who changed an order, as its history records it. Every actor the
//! gateway writes is made here, so the words are said once.

use jiufu_protocol::Actor;

/// The customer's own changes (the "I have paid" claim).
pub fn customer() -> Actor {
    Actor::Customer
}

/// A merchant acting through its shop protocol (V免签 `closeOrder`).
pub fn merchant() -> Actor {
    Actor::Merchant
}

/// The operator at the gateway's command line.
pub fn operator_cli() -> Actor {
    Actor::OperatorCli
}

/// A paired collector.
pub fn device(device_id: &str) -> Actor {
    Actor::Device(device_id.to_owned())
}

/// True when `actor` is the customer (counting claims in a history).
pub fn is_customer(actor: &Actor) -> bool {
    *actor == Actor::Customer
}
