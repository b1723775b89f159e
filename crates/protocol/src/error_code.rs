//! The merchant API's stable public error codes.

use serde::Serialize;

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
