//! What a shop owner pastes into the payment settings they already have:
//! one block per protocol, for `merchant add`, `merchant show` and the demo.

use jiufu_store::Merchant;
use std::fmt::Write;

/// The ready settings of `merchant` for every protocol the gateway speaks,
/// with `base` the gateway's public URL.
pub fn text(base: &str, merchant: &Merchant) -> String {
    let id = merchant.id;
    let key = merchant.key.expose();
    let mut s = String::new();
    let _ = writeln!(s, "商户 {id}「{}」接入参数 / settings for merchant {id} ({})", merchant.name, merchant.name);
    let _ = writeln!(s, "\n就付接口 Jiufu API");
    let _ = writeln!(s, "  网关地址 gateway URL : {base}/gateway");
    let _ = writeln!(s, "  商户ID userid        : {id}");
    let _ = writeln!(s, "  商户密钥 key         : {key}");
    let _ = writeln!(s, "\n易支付 EPay V1 (独角数卡 epay, 彩虹易支付 SDK plugins, SSPanel, new-api …)");
    let _ = writeln!(s, "  接口地址 apiurl      : {base}/");
    let _ = writeln!(s, "  商户ID pid           : {id}");
    let _ = writeln!(s, "  商户密钥 key         : {key}");
    let _ = writeln!(s, "\nepusdt (classic) / GMPay (epusdt v2)");
    let _ = writeln!(s, "  API 地址 api URL     : {base}");
    let _ = writeln!(s, "    classic            : {base}/api/v1/order/create-transaction");
    let _ = writeln!(s, "    GMPay              : {base}/payments/gmpay/v1/order/create-transaction");
    let _ = writeln!(s, "  密钥 token / secret  : {key}");
    let _ = writeln!(s, "  商户ID pid (GMPay)   : {id}");
    let _ = writeln!(s, "\nV免签 VMQ merchant API");
    let _ = writeln!(s, "  服务地址 address     : {base}");
    let _ = writeln!(s, "  通讯密钥 key         : {key}");
    s
}
