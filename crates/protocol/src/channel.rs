//! Payment channels, by their merchant-API codes.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Channel {
    /// Alipay 支付宝
    P901,
    /// WeChat Pay 微信
    P902,
    /// QQ Wallet QQ钱包
    P903,
    /// UnionPay QuickPass 云闪付
    P904,
}

impl Channel {
    pub const ALL: [Channel; 4] = [Channel::P901, Channel::P902, Channel::P903, Channel::P904];

    pub fn code(self) -> &'static str {
        match self {
            Channel::P901 => "P901",
            Channel::P902 => "P902",
            Channel::P903 => "P903",
            Channel::P904 => "P904",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Channel::P901 => "支付宝",
            Channel::P902 => "微信支付",
            Channel::P903 => "QQ钱包",
            Channel::P904 => "云闪付",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Channel::P901 => "Alipay",
            Channel::P902 => "WeChat Pay",
            Channel::P903 => "QQ Wallet",
            Channel::P904 => "UnionPay QuickPass",
        }
    }

    /// The `type` number used by the V免签 monitor app protocol.
    pub fn vmq_type(self) -> u8 {
        match self {
            Channel::P902 => 1,
            Channel::P901 => 2,
            Channel::P904 => 3,
            Channel::P903 => 4,
        }
    }

    pub fn from_vmq_type(t: &str) -> Option<Channel> {
        match t {
            "1" => Some(Channel::P902),
            "2" => Some(Channel::P901),
            "3" => Some(Channel::P904),
            "4" => Some(Channel::P903),
            _ => None,
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown channel (expected P901, P902, P903 or P904)")]
pub struct UnknownChannel;

impl FromStr for Channel {
    type Err = UnknownChannel;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Channel::ALL.into_iter().find(|c| c.code() == s).ok_or(UnknownChannel)
    }
}
