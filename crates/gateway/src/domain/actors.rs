//! Who changed an order, as its history records it. Every actor the
//! gateway writes is made here, so the words are said once.

/// The customer's own changes (the "I have paid" claim).
pub fn customer() -> String {
    "customer".to_owned()
}

/// A merchant acting through its shop protocol (V免签 `closeOrder`).
pub fn merchant() -> String {
    "merchant".to_owned()
}

/// The operator at the gateway's command line.
pub fn operator_cli() -> String {
    "operator:cli".to_owned()
}

/// A paired collector.
pub fn device(device_id: &str) -> String {
    format!("device:{device_id}")
}

/// True when `actor` is the customer (counting claims in a history).
pub fn is_customer(actor: &str) -> bool {
    actor == "customer"
}
