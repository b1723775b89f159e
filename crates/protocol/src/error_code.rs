//! The stable public error codes: the merchant API's numbers, and the
//! collector link's words.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "i32")]
pub enum ErrorCode {
    MalformedField,
    BadSignature,
    UnknownMerchant,
    CreateFailed,
    OrderNoReused,
    InvalidAmount,
    ChannelUnavailable,
    NoFreeAmount,
    NoCollectorOnline,
    TooManyOpenOrders,
    OrderNotFound,
    WrongState,
}

impl ErrorCode {
    pub fn code(self) -> i32 {
        match self {
            ErrorCode::MalformedField => 1001,
            ErrorCode::BadSignature => 1002,
            ErrorCode::UnknownMerchant => 1003,
            ErrorCode::CreateFailed => 1004,
            ErrorCode::OrderNoReused => 1005,
            ErrorCode::InvalidAmount => 1006,
            ErrorCode::ChannelUnavailable => 1007,
            ErrorCode::NoFreeAmount => 1008,
            ErrorCode::NoCollectorOnline => 1009,
            ErrorCode::TooManyOpenOrders => 1010,
            ErrorCode::OrderNotFound => 2001,
            ErrorCode::WrongState => 2002,
        }
    }

    /// The default message (Chinese first, as in the seed).
    pub fn message(self) -> &'static str {
        match self {
            ErrorCode::MalformedField => "参数错误 / malformed field",
            ErrorCode::BadSignature => "签名错误 / signature mismatch",
            ErrorCode::UnknownMerchant => "商户不存在或已停用 / unknown or disabled merchant",
            ErrorCode::CreateFailed => "订单创建失败!",
            ErrorCode::OrderNoReused => "订单号已被使用 / order_no already used with different fields",
            ErrorCode::InvalidAmount => "金额无效 / invalid amount",
            ErrorCode::ChannelUnavailable => "支付通道未开通 / channel not enabled",
            ErrorCode::NoFreeAmount => "暂无可用金额,请稍后再试 / no unique payable amount free",
            ErrorCode::NoCollectorOnline => "收款端不在线 / no collector online for this channel",
            ErrorCode::TooManyOpenOrders => "该付款人未支付订单过多,请先完成或等待过期 / too many open orders for this payer",
            ErrorCode::OrderNotFound => "订单不存在",
            ErrorCode::WrongState => "订单状态不允许此操作 / order state does not allow this",
        }
    }
}

impl From<ErrorCode> for i32 {
    fn from(c: ErrorCode) -> i32 {
        c.code()
    }
}

/// The collector link's error codes (`{"error":{"code", "message"}}`):
/// the gateway answers with them, the collector decides by them whether
/// retrying can help. Written as the same lowercase words as always.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CollectorErrorCode {
    /// The request is not signed by a paired device (or the signature, time or nonce is wrong).
    Unauthorized,
    /// The body or a field is malformed.
    BadRequest,
    /// No such order (at this device's merchant).
    NotFound,
    /// The order's state does not allow this.
    WrongState,
    /// A concurrent change won; try again.
    Conflict,
    /// The payment already confirmed another order.
    EvidenceUsed,
    /// The order is already paid (by another payment).
    AlreadyPaid,
    /// The amount paid is not the order's payable amount.
    AmountMismatch,
    /// The payment came by another channel than the order's.
    ChannelMismatch,
    /// The gateway failed; the cause is in its log.
    Internal,
}

impl CollectorErrorCode {
    pub const ALL: &'static [CollectorErrorCode] = &[
        CollectorErrorCode::Unauthorized,
        CollectorErrorCode::BadRequest,
        CollectorErrorCode::NotFound,
        CollectorErrorCode::WrongState,
        CollectorErrorCode::Conflict,
        CollectorErrorCode::EvidenceUsed,
        CollectorErrorCode::AlreadyPaid,
        CollectorErrorCode::AmountMismatch,
        CollectorErrorCode::ChannelMismatch,
        CollectorErrorCode::Internal,
    ];

    /// The refusals that retrying cannot change: the payment is not that
    /// order's. Everything else (a 5xx, 401 from clock skew, 409
    /// `conflict`) may pass on a later try.
    pub const FINAL: &'static [CollectorErrorCode] = &[
        CollectorErrorCode::AlreadyPaid,
        CollectorErrorCode::WrongState,
        CollectorErrorCode::NotFound,
        CollectorErrorCode::AmountMismatch,
        CollectorErrorCode::ChannelMismatch,
        CollectorErrorCode::BadRequest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CollectorErrorCode::Unauthorized => "unauthorized",
            CollectorErrorCode::BadRequest => "bad_request",
            CollectorErrorCode::NotFound => "not_found",
            CollectorErrorCode::WrongState => "wrong_state",
            CollectorErrorCode::Conflict => "conflict",
            CollectorErrorCode::EvidenceUsed => "evidence_used",
            CollectorErrorCode::AlreadyPaid => "already_paid",
            CollectorErrorCode::AmountMismatch => "amount_mismatch",
            CollectorErrorCode::ChannelMismatch => "channel_mismatch",
            CollectorErrorCode::Internal => "internal",
        }
    }

    /// In [`CollectorErrorCode::FINAL`].
    pub fn is_final(self) -> bool {
        CollectorErrorCode::FINAL.contains(&self)
    }
}

impl fmt::Display for CollectorErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::CollectorErrorCode;

    #[test]
    fn collector_codes_are_the_words_on_the_wire() {
        for c in CollectorErrorCode::ALL.iter().copied() {
            assert_eq!(serde_json::to_value(c).unwrap(), serde_json::json!(c.as_str()));
            assert_eq!(serde_json::from_value::<CollectorErrorCode>(serde_json::json!(c.as_str())).unwrap(), c);
        }
        let words: Vec<&str> = CollectorErrorCode::FINAL.iter().map(|c| c.as_str()).collect();
        assert_eq!(words, ["already_paid", "wrong_state", "not_found", "amount_mismatch", "channel_mismatch", "bad_request"]);
        assert!(!CollectorErrorCode::Conflict.is_final() && !CollectorErrorCode::Unauthorized.is_final());
    }
}
