//! The checkout page's words, Simplified Chinese first, English complete.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn param(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    pub fn parse(s: &str) -> Option<Lang> {
        match s.to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "zh-hans" => Some(Lang::Zh),
            "en" | "en-us" | "en-gb" => Some(Lang::En),
            _ => None,
        }
    }

    /// The first language in an `Accept-Language` header that we speak; Chinese otherwise.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut tags: Vec<(f32, &str)> = header
            .split(',')
            .filter_map(|part| {
                let mut it = part.trim().split(';');
                let tag = it.next()?.trim();
                let q = it.find_map(|p| p.trim().strip_prefix("q=")).and_then(|q| q.parse().ok()).unwrap_or(1.0);
                Some((q, tag))
            })
            .collect();
        tags.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
        for (_, tag) in tags {
            let primary = tag.split('-').next().unwrap_or("").to_ascii_lowercase();
            match primary.as_str() {
                "zh" => return Lang::Zh,
                "en" => return Lang::En,
                _ => {}
            }
        }
        Lang::Zh
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }
}

pub struct Texts {
    pub title: &'static str,
    pub switch_to: &'static str,
    pub pay_exactly: &'static str,
    pub exact_warning: &'static str,
    pub order_amount: &'static str,
    pub scan_with: &'static str,
    pub open_app: &'static str,
    pub save_hint: &'static str,
    pub time_left: &'static str,
    pub expires_at: &'static str,
    pub i_have_paid: &'static str,
    pub claimed_title: &'static str,
    pub claimed_body: &'static str,
    pub paid_title: &'static str,
    pub paid_body: &'static str,
    pub redirecting: &'static str,
    pub back_to_shop: &'static str,
    pub expired_title: &'static str,
    pub expired_body: &'static str,
    pub closed_title: &'static str,
    pub closed_body: &'static str,
    pub not_found_title: &'static str,
    pub not_found_body: &'static str,
    pub order_no: &'static str,
    pub refresh: &'static str,
    pub noscript: &'static str,
    pub claim_limit_title: &'static str,
    pub claim_limit_body: &'static str,
    pub cross_origin_title: &'static str,
    pub cross_origin_body: &'static str,
    pub back_to_order: &'static str,
    pub error_title: &'static str,
    pub error_body: &'static str,
    pub shop_refused_title: &'static str,
    pub shop_refused_body: &'static str,
    pub claim_refused: &'static str,
}

pub static ZH: Texts = Texts {
    title: "收银台",
    switch_to: "English",
    pay_exactly: "请支付",
    exact_warning: "请务必按此金额付款，多付或少付都无法自动到账",
    order_amount: "订单金额",
    scan_with: "请使用{}扫码付款",
    open_app: "打开{}付款",
    save_hint: "可截图保存二维码，在{}中扫一扫相册图片",
    time_left: "剩余时间",
    expires_at: "过期时间",
    i_have_paid: "我已付款",
    claimed_title: "已收到您的付款通知",
    claimed_body: "正在等待收款方确认，确认后页面会自动跳转，请勿重复付款。",
    paid_title: "支付成功",
    paid_body: "收款方已确认收到您的付款。",
    redirecting: "正在返回商户页面…",
    back_to_shop: "返回商户",
    expired_title: "订单已过期",
    expired_body: "该订单已超时，请勿再付款。如已付款，请联系商户处理。",
    closed_title: "订单已关闭",
    closed_body: "该订单已被关闭，请勿付款。",
    not_found_title: "订单不存在",
    not_found_body: "找不到该订单，请返回商户重新下单。",
    order_no: "订单号",
    refresh: "刷新",
    noscript: "浏览器未启用脚本：页面每 15 秒自动刷新。",
    claim_limit_title: "正在等待收款方确认",
    claim_limit_body: "您已多次提交“我已付款”，无需再次提交。收款方核实到账后，订单页面会自动更新；请勿重复付款，如有疑问请联系商户。",
    cross_origin_title: "请求未被接受",
    cross_origin_body: "该请求并非来自本收银台页面，订单没有任何变化。请打开订单页面，在页面上点击“我已付款”。",
    back_to_order: "返回订单页面",
    error_title: "系统繁忙",
    error_body: "服务暂时出现问题，请稍后刷新重试。",
    shop_refused_title: "支付请求无效",
    shop_refused_body: "商户网站发来的支付请求未被接受，没有创建订单。请返回商户网站重试，或联系商户。原因：",
    claim_refused: "当前订单状态不能提交付款通知。",
};

pub static EN: Texts = Texts {
    title: "Checkout",
    switch_to: "中文",
    pay_exactly: "Please pay",
    exact_warning: "Pay exactly this amount: any other amount cannot be matched to your order automatically",
    order_amount: "Order amount",
    scan_with: "Scan with {} to pay",
    open_app: "Open {} to pay",
    save_hint: "You can save a screenshot of the QR code and scan it from your photos in {}",
    time_left: "Time left",
    expires_at: "Expires at",
    i_have_paid: "I have paid",
    claimed_title: "We got your payment notice",
    claimed_body: "Waiting for the payee to confirm. This page moves on by itself once confirmed; please do not pay again.",
    paid_title: "Payment successful",
    paid_body: "The payee has confirmed your payment.",
    redirecting: "Returning to the shop…",
    back_to_shop: "Back to the shop",
    expired_title: "This order has expired",
    expired_body: "Time is up for this order; please do not pay it. If you already paid, contact the shop.",
    closed_title: "This order is closed",
    closed_body: "This order was closed; please do not pay it.",
    not_found_title: "Order not found",
    not_found_body: "There is no such order. Please go back to the shop and order again.",
    order_no: "Order number",
    refresh: "Refresh",
    noscript: "JavaScript is off: this page refreshes itself every 15 seconds.",
    claim_limit_title: "Waiting for the payee to confirm",
    claim_limit_body: "You have already told us several times that you paid; there is no need to do it again. The order page \
                       updates by itself once the payee has checked the payment. Please do not pay again; if in doubt, contact the shop.",
    cross_origin_title: "Request not accepted",
    cross_origin_body: "This request did not come from this checkout page, and nothing about the order changed. Please open the \
                        order page and press \"I have paid\" there.",
    back_to_order: "Back to the order",
    error_title: "Something went wrong",
    error_body: "The service has a temporary problem. Please refresh and try again in a moment.",
    shop_refused_title: "Payment request refused",
    shop_refused_body: "The shop's payment request was not accepted and no order was created. Go back to the shop and try again, or contact the shop. Reason: ",
    claim_refused: "The order's current state does not take a payment notice.",
};

#[cfg(test)]
mod tests {
    use super::Lang;

    #[test]
    fn accept_language() {
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9"), Lang::En);
        assert_eq!(Lang::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"), Lang::Zh);
        assert_eq!(Lang::from_accept_language("fr-FR,en;q=0.5"), Lang::En);
        assert_eq!(Lang::from_accept_language(""), Lang::Zh);
        assert_eq!(Lang::from_accept_language("de"), Lang::Zh);
    }
}
