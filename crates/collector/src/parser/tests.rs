use super::*;

fn notice(app: &str, title: &str, text: &str) -> Notice {
    Notice { app: app.into(), title: title.into(), text: text.into() }
}

fn pay(app: &str, title: &str, text: &str) -> Result<Payment, NotPayment> {
    Parser::new(None).unwrap().parse(&notice(app, title, text))
}

const ALIPAY: &str = "com.eg.android.AlipayGphone";
const WECHAT: &str = "com.tencent.mm";

#[test]
fn contract_vectors_incoming() {
    let cases = [
        (ALIPAY, "支付宝通知", "张三通过扫码向你付款0.01元", Channel::P901, 1),
        (ALIPAY, "收钱码收款", "成功收款0.01元。享免费提现等更多专属服务，点击查看", Channel::P901, 1),
        (ALIPAY, "收钱码收款", "你已成功收款0.01元（老顾客消费）", Channel::P901, 1),
        (WECHAT, "微信支付", "微信支付收款0.01元(朋友到店)", Channel::P902, 1),
        (WECHAT, "微信收款助手", "个人收款码到账¥0.01", Channel::P902, 1),
        (WECHAT, "微信收款商业版", "二维码赞赏到账¥0.01", Channel::P902, 1),
        ("com.tencent.mobileqq", "QQ钱包", "李四通过扫码向你付款0.01元", Channel::P903, 1),
        ("com.unionpay", "云闪付", "您的云闪付收款码收款0.01元", Channel::P904, 1),
    ];
    for (app, title, text, channel, fen) in cases {
        assert_eq!(pay(app, title, text), Ok(Payment { channel, amount: Fen(fen) }), "{text}");
    }
}

#[test]
fn amounts_in_their_many_forms() {
    assert_eq!(pay(ALIPAY, "", "成功收款1,234.56元").unwrap().amount, Fen(123_456));
    assert_eq!(pay(WECHAT, "", "个人收款码到账￥1,234.56").unwrap().amount, Fen(123_456));
    assert_eq!(pay(ALIPAY, "", "成功收款１２.３４元").unwrap().amount, Fen(1234));
    assert_eq!(pay(ALIPAY, "", "成功收款12．3元").unwrap().amount, Fen(1230));
    assert_eq!(pay(ALIPAY, "", "成功收款 9.99 元").unwrap().amount, Fen(999));
    // the payment's amount, not the last or first number in the text
    assert_eq!(pay(WECHAT, "[3条]微信收款助手", "个人收款码到账¥5.20，今日第12笔，累计100.00元").unwrap().amount, Fen(520));
    assert_eq!(pay(ALIPAY, "收钱码收款", "成功收款8.88元，余额1000.00元，2024-05-01").unwrap().amount, Fen(888));
    assert_eq!(pay(WECHAT, "微信收款助手", "到账¥5.20，本月收款100.00元").unwrap().amount, Fen(520));
}

#[test]
fn contract_vectors_negative() {
    assert!(pay(ALIPAY, "支付宝", "你已成功付款0.01元").is_err());
    assert!(pay(ALIPAY, "支付宝", "支付宝：您有一笔0.01元的退款").is_err());
    assert!(matches!(pay(ALIPAY, "支付宝", "退款到账0.01元"), Err(NotPayment::Excluded(_))));
    assert!(pay(WECHAT, "[3条]微信支付", "收款到账通知").is_err());
    assert_eq!(pay("com.example.game", "福利", "成功收款0.01元"), Err(NotPayment::UnknownApp));
    assert!(pay(WECHAT, "微信支付", "付款成功 ¥5.00").is_err());
    assert!(pay(WECHAT, "微信支付", "你已转账给张三5.00元").is_err());
    assert!(pay(ALIPAY, "支付宝", "双十一红包，最高可得888元！").is_err());
    assert!(pay(ALIPAY, "支付宝", "成功收款0.001元").is_err());
    // chats and summaries
    assert!(matches!(pay(WECHAT, "张三", "收款9.90元"), Err(NotPayment::UntrustedTitle(_))));
    assert!(matches!(pay("com.tencent.mobileqq", "李四", "成功收款1.00元"), Err(NotPayment::UntrustedTitle(_))));
    assert!(pay(ALIPAY, "支付宝", "提现到账100.00元").is_err());
    assert!(pay(ALIPAY, "支付宝", "余额宝收益到账0.52元").is_err());
    assert!(pay(WECHAT, "微信支付", "昨日收款¥300.00，共12笔").is_err());
}

#[test]
fn the_channel_comes_from_the_app_never_from_words() {
    let p = Parser::new(None).unwrap();
    // S2: a chat titled like a payment app, from any app that is not one
    for app in ["org.telegram.messenger", "Telegram", "支付宝", "Alipay", "微信支付", ""] {
        assert_eq!(p.parse(&notice(app, "支付宝通知", "张三通过扫码向你付款8.88元")), Err(NotPayment::UnknownApp), "{app}");
    }
    for app in ["Telegram", "org.telegram.desktop", "KDE Connect", "支付宝通知"] {
        let n = notice("x", "支付宝通知", "张三通过扫码向你付款8.88元");
        assert_eq!(p.parse_as(AppId::Phone(app), &n), Err(NotPayment::UnknownApp), "{app}");
        assert_eq!(p.parse_as(AppId::Desktop(app), &n), Err(NotPayment::UnknownApp), "{app}");
    }
    // the phone app a mirroring app names, by its label in either language
    let n = notice("kdeconnect/支付宝", "支付宝通知", "张三通过扫码向你付款8.88元");
    assert_eq!(p.parse_as(AppId::Phone("支付宝"), &n), Ok(Payment { channel: Channel::P901, amount: Fen(888) }));
    assert_eq!(p.parse_as(AppId::Phone("Alipay"), &n), Ok(Payment { channel: Channel::P901, amount: Fen(888) }));
    let wx = notice("kdeconnect/微信", "微信支付", "微信支付收款0.01元(朋友到店)");
    assert_eq!(p.parse_as(AppId::Phone("微信"), &wx), Ok(Payment { channel: Channel::P902, amount: Fen(1) }));
    // a chat inside the payment app still needs the app's own title
    let chat = notice("kdeconnect/微信", "张三", "收款9.90元");
    assert!(matches!(p.parse_as(AppId::Phone("微信"), &chat), Err(NotPayment::UntrustedTitle(_))));
    // no desktop payment program is trusted out of the box
    assert_eq!(p.desktop_channel("WeChat"), None);
}

#[test]
fn user_rules_add_apps_and_keywords_are_ignored() {
    let user = r#"
        [[channel]]
        channel = "P902"
        packages = ["com.example.wxhelper"]
        keywords = ["Telegram", "支付宝"]
        [[incoming]]
        pattern = "入账{amount}元"
        [[desktop]]
        channel = "P901"
        ids = ["org.example.AlipayDesktop"]
        executables = ["/opt/alipay/alipay"]
        [[mirror]]
        format = "kdeconnect"
        ids = ["KDE Connect"]
        executables = ["/opt/kdeconnect/kdeconnectd"]
    "#;
    let p = Parser::new(Some(user)).unwrap();
    assert_eq!(p.parse(&notice("com.example.wxhelper", "", "入账3.00元")), Ok(Payment { channel: Channel::P902, amount: Fen(300) }));
    assert_eq!(p.parse(&notice("Telegram", "支付宝", "入账3.00元")), Err(NotPayment::UnknownApp));
    let n = notice("desktop/org.example.AlipayDesktop", "收钱码收款", "成功收款1.00元");
    assert_eq!(p.parse_as(AppId::Desktop("org.example.AlipayDesktop"), &n), Ok(Payment { channel: Channel::P901, amount: Fen(100) }));
    assert_eq!(p.desktop_executables("org.example.AlipayDesktop", Channel::P901), vec!["/opt/alipay/alipay".to_owned()]);
    assert!(p.desktop_executables("org.example.AlipayDesktop", Channel::P902).is_empty());
    // the user's mirror entry and the shipped one both name KDE Connect
    let exes: Vec<String> = p.mirrors(&["KDE Connect"]).flat_map(|m| m.executables.clone()).collect();
    assert!(exes.contains(&"/opt/kdeconnect/kdeconnectd".to_owned()) && exes.contains(&"/usr/bin/kdeconnectd".to_owned()), "{exes:?}");
    assert_eq!(p.mirrors(&["Telegram"]).count(), 0);
    assert!(Parser::new(Some("[[incoming]]\npattern = \"(\"")).is_err());
    assert!(Parser::new(Some("[[mirror]]\nformat = \"phonelink\"\nids = [\"x\"]")).is_err());
}

const BANK_SMS: &str = "95588";

#[test]
fn identity_decides_the_channel_for_sms_and_bank_apps() {
    let p = Parser::new(None).unwrap();
    let sms = "您尾号0123卡1月1日11:11快捷支付收入(转账)100.00元，余额200,000.00元。【工商银行】";
    assert_eq!(p.parse(&notice(BANK_SMS, "", sms)), Ok(Payment { channel: Channel::P904, amount: Fen(10_000) }));
    assert_eq!(p.parse(&notice("+86 95588", "", sms)), Ok(Payment { channel: Channel::P904, amount: Fen(10_000) }));
    // the same words from an ordinary number, or with a bank's name as the sender, are not a bank's SMS
    for sender in ["13800138000", "工商银行", "", "95588x"] {
        assert_eq!(p.parse(&notice(sender, "", sms)), Err(NotPayment::UnknownApp), "{sender}");
    }
    // a mirrored SMS: the sender is its title
    assert_eq!(p.parse_as(AppId::Sms("95588"), &notice("kdeconnect/信息", "95588", sms)).map(|p| p.amount), Ok(Fen(10_000)));
    assert!(p.is_sms_app(None, "信息") && p.is_sms_app(Some("com.google.android.apps.messaging"), "") && !p.is_sms_app(None, "微信"));
    // bank apps carry no chats: any title
    let abc = "您尾号为2473的农行借记卡于12月30日10:52发生一笔收入90000.00元，详情请点击";
    assert_eq!(p.parse(&notice("com.android.bankabc", "动账提醒", abc)).map(|p| p.amount), Ok(Fen(9_000_000)));
}

#[test]
fn the_amount_belongs_to_the_statement() {
    // in the title, with other numbers in the text
    assert_eq!(pay(ALIPAY, "你已成功收款5.00元", "已转入余额 100积分兑收钱音箱，去兑换>>").unwrap().amount, Fen(500));
    // before the phrase
    assert_eq!(pay(ALIPAY, "支付宝商家服务", "￥0.01收款到账通知，领积分兑好礼").unwrap().amount, Fen(1));
    // never the balance, a date, a card number or part of a longer number
    let boc = "【中国银行】您的借记卡账户长城电子借记卡，于12月01日收入(网上快付)人民币100.00元,交易后余额1,234.56【中国银行】";
    assert_eq!(pay("95566", "", boc).unwrap().amount, Fen(10_000));
    assert!(pay(ALIPAY, "收钱码收款", "成功收款¥1.001").is_err());
    assert!(pay(ALIPAY, "收钱码收款", "成功收款1.001元").is_err());
    assert!(pay(ALIPAY, "收钱码收款", "成功收款0.00元").is_err());
    // an advert after the amount does not make it a look-alike; a refund before it does
    assert_eq!(pay(ALIPAY, "收钱码到账通知", "成功收款0.01元。享免费提现等更多专属服务，点击查看").unwrap().amount, Fen(1));
    assert!(matches!(
        pay(BANK_SMS, "", "您尾号8616卡8月15日网上银行收入(退货)11.90元，余额8,998元。【工商银行】"),
        Err(NotPayment::Excluded(_))
    ));
    // how the money came in, named after the phrase, is not a look-alike
    let icbc = "您尾号0619卡5月1日13:32工商银行收入(跨行转出)888元，余额15,875.99元。【工商银行】";
    assert_eq!(pay(BANK_SMS, "", icbc).unwrap().amount, Fen(88_800));
    assert!(pay(BANK_SMS, "", "您尾号0619卡5月1日转出人民币888元，余额15,875.99元。【工商银行】").is_err());
    // a bare amount a bank marks by what follows it
    assert_eq!(
        pay("95528", "", "您尾号3252卡人民币活期14:39存入1.00[银联入账:何露]，可用余额5.09。【浦发银行】").unwrap().amount,
        Fen(100)
    );
}

#[test]
fn look_alikes_of_every_kind() {
    let cases = [
        (ALIPAY, "支付宝", "上一笔播报：支付宝到账 1430.00 元。收钱提醒助手正在为您服务"),
        (ALIPAY, "支付宝", "余额宝收益到账啦，昨日收益0.52元"),
        (ALIPAY, "支付宝", "提现到账100.00元"),
        (ALIPAY, "支付宝", "你有一笔145.75元的支出，点击领取9个支付宝积分"),
        (WECHAT, "微信支付", "今日收到2笔收款，共计30.00元"),
        (WECHAT, "微信支付", "群收款：张三发起收款10.00元"),
        (BANK_SMS, "", "您尾号1234卡12月1日消费支出人民币40.00元，余额100.00元。【工商银行】"),
        (BANK_SMS, "", "验证码123456，您正在向尾号1234账户转入人民币100.00元。【工商银行】"),
        ("95533", "", "您尾号5083的龙卡信用卡已于12月04日从约定账户成功扣款人民币97.00元。【建设银行】"),
        ("cmb.pb", "招商银行", "您尾号6598的招行账户存入3000.00元成功，产品代码XDC20233622，年利率1.80%。"),
        ("95588", "", "您尾号8665账户12月21日00:28转账存入人民币16.99元，余额36168.11元，摘要：利息结息入账。【工商银行】"),
    ];
    for (app, title, text) in cases {
        assert!(pay(app, title, text).is_err(), "{text}");
    }
}

#[test]
fn user_rules_add_senders_and_phrases() {
    let user = r#"
        [[channel]]
        channel = "P904"
        senders = ["106575"]
        [[incoming]]
        pattern = "进账{money}"
        channel = "P904"
    "#;
    let p = Parser::new(Some(user)).unwrap();
    assert_eq!(p.parse(&notice("106575", "", "【某某银行】您的账户进账人民币8.00")).map(|p| p.amount), Ok(Fen(800)));
    assert!(Parser::new(Some("[[incoming]]\npattern = \"到账\"")).is_err(), "a pattern must say where the amount is");
    assert!(Parser::new(Some("[exclude]\nanywhere = [\"(\"]")).is_err());
}

#[test]
fn hostile_texts_are_just_not_payments() {
    let p = Parser::new(None).unwrap();
    // 64 KiB of near-misses: phrases, digits and currency marks without a statement
    let noise = "收款码到账余额1,2元¥.元人民币9.999收入(".repeat(1500);
    assert!(p.parse(&notice(ALIPAY, "收钱码到账通知", &noise)).is_err());
    assert!(p.parse(&notice(BANK_SMS, "", &noise)).is_err());
    // a statement after the noise is still found, with its own amount (a
    // bank's SMS: a chat app's text must start in the app's own shape)
    let late = format!("{noise}。收入3.21元");
    assert_eq!(p.parse(&notice(BANK_SMS, "", &late)).map(|p| p.amount), Ok(Fen(321)));
    assert!(p.parse(&notice(ALIPAY, "", &format!("{noise}。成功收款3.21元"))).is_err(), "not in an Alipay shape");
    for text in ["", "\u{0}", "成功收款元", "成功收款¥", "成功收款99999999999999999999元"] {
        assert!(p.parse(&notice(ALIPAY, "", text)).is_err(), "{text:?}");
    }
}

const QQ: &str = "com.tencent.mobileqq";

/// Issue 16, H2: a group renamed to a payment title, a member's line, or a
/// group (or contact) named like a statement, in each chat-carrying app.
#[test]
fn chat_apps_cannot_speak_for_the_payment_account() {
    let p = Parser::new(None).unwrap();
    let attacks = [
        (WECHAT, "微信支付", "张三: 收款8.88元"),
        (WECHAT, "微信支付", "[3条]张三: 微信支付收款8.88元(朋友到店)"),
        (WECHAT, "微信支付", "张三：微信支付收款8.88元"),
        (WECHAT, "微信支付收款8.88元", "张三: hi"),
        (WECHAT, "微信支付收款8.88元", "hi"),
        (WECHAT, "收款通知", "张三: 收款8.88元"),
        (WECHAT, "收款通知", "收款8.88元"),
        (WECHAT, "微信收款", "hi 到账8.88元"),
        // a member whose nickname carries an official name before a colon
        (WECHAT, "微信支付", "微信支付: 张三: 收款8.88元"),
        (WECHAT, "[2条]微信支付", "[2条]张三: 收款8.88元"),
        (QQ, "QQ钱包", "张三: 收款8.88元"),
        (QQ, "QQ钱包", "张三: 李四通过扫码向你付款8.88元"),
        (QQ, "QQ钱包收款8.88元", "张三: hi"),
        (QQ, "你已成功收款8.88元", "hi"),
        (ALIPAY, "支付宝通知", "张三: 收款8.88元"),
        (ALIPAY, "收款通知", "张三: 张三通过扫码向你付款8.88元"),
        (ALIPAY, "你已成功收款8.88元", "张三: hi"),
        (ALIPAY, "你已成功收款8.88元", "hi"),
        (ALIPAY, "收款8.88元", "hi"),
        (ALIPAY, "张三: 你已成功收款8.88元", "立即查看余额情况"),
        (ALIPAY, "收款到账通知", "hi 收款8.88元"),
        (ALIPAY, "收款通知", "收款金额: 8.88"),
        // a contact (or a group member) named like an official account
        // still has to write exactly as the app does
        (WECHAT, "微信支付", "收款8.88元"),
        (WECHAT, "WeChat Pay", "收款8.88元"),
        (WECHAT, "微信支付", "微信支付: 收款8.88元"),
        (WECHAT, "微信收款助手", "微信支付: 收到8.88元"),
        (QQ, "QQ钱包", "收款8.88元"),
        (QQ, "QQ钱包", "QQ钱包: 收款8.88元"),
        (ALIPAY, "支付宝", "收款8.88元"),
        (ALIPAY, "店员通", "店员通: 收款8.88元"),
    ];
    for (app, title, text) in attacks {
        let got = p.parse(&notice(app, title, text));
        assert!(got.is_err(), "{app} {title:?} {text:?} was read as {got:?}");
    }
    assert_eq!(p.parse(&notice(WECHAT, "微信支付", "张三: 收款8.88元")), Err(NotPayment::ChatLine("张三".into())));
    assert_eq!(p.parse(&notice(WECHAT, "收款通知", "收款8.88元")), Err(NotPayment::UnofficialText("收款通知".into())));
    // the same through the mirrors' identities
    for app in [AppId::Phone("微信"), AppId::Package(WECHAT)] {
        assert!(p.parse_as(app, &notice("x", "微信支付", "张三: 收款8.88元")).is_err());
    }
    assert!(p.parse_as(AppId::Phone("QQ"), &notice("x", "QQ钱包", "张三: 收款8.88元")).is_err());
    assert!(p.parse_as(AppId::Phone("支付宝"), &notice("x", "你已成功收款8.88元", "张三: hi")).is_err());
    // the app's own accounts' lines, and its own whole-title statements, still count
    let real = [
        (WECHAT, "微信支付", "[3条]微信支付: 微信支付收款1.17元(朋友到店)", 117),
        (WECHAT, "收款通知", "微信收款商业版: 收款66.00元", 6600),
        (WECHAT, "微信支付", "微信支付：微信支付收款25.00元", 2500),
        (WECHAT, "收款通知", "微信支付收款8.88元(朋友到店)", 888),
        (ALIPAY, "收到一笔转账", "支付助手: ￥0.01 收到一笔转账", 1),
        (ALIPAY, "你已成功收款800.00元（老顾客消费）", "已转入余额 收钱1笔兑2包纸巾>>", 80_000),
        (ALIPAY, "收款通知", "卢云通过扫码向你付款0.01元", 1),
        (ALIPAY, "收款通知", "成功收款8.88元，时间 12:30", 888),
    ];
    for (app, title, text, fen) in real {
        assert_eq!(p.parse(&notice(app, title, text)).map(|p| p.amount), Ok(Fen(fen)), "{title:?} {text:?}");
    }
}

/// Issue 16, L6: an SMS whose alphanumeric sender id looks like a bank
/// app's package is an SMS from an unknown sender.
#[test]
fn a_package_shaped_sms_sender_is_not_a_bank_app() {
    let p = Parser::new(None).unwrap();
    let text = "您尾号6598的账户入账人民币8.88元";
    for sender in ["cmb.pb", "com.icbc", "com.icbc.im"] {
        for title in ["", "SIM1_", "SIM2_中国移动_"] {
            assert_eq!(p.parse(&notice(sender, title, text)), Err(NotPayment::UnknownApp), "{sender} {title:?}");
        }
        assert_eq!(p.parse(&notice(sender, "招商银行", text)).map(|p| p.channel), Ok(Channel::P904), "the app, with its title");
    }
    // a package too long to be a sender id is the app whatever its title
    assert_eq!(p.parse(&notice("com.android.bankabc", "", "您尾号2473的农行借记卡发生一笔收入8.88元")).map(|p| p.amount), Ok(Fen(888)));
    assert!(matches!(AppId::forwarded("cmb.pb", "SIM1_"), AppId::Sms("cmb.pb")));
    assert!(matches!(AppId::forwarded("cmb.pb", "招商银行"), AppId::Package("cmb.pb")));
}

/// The real corpus (tests/data), as forwarded (package, title, text): every
/// incoming case recognised with its channel and amount, no look-alike.
#[test]
fn the_real_corpus_is_recognised_and_no_look_alike_is() {
    #[derive(serde::Deserialize)]
    struct Case {
        id: String,
        app: String,
        title: String,
        text: String,
        expect: String,
        channel: Option<String>,
        amount: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct File {
        case: Vec<Case>,
    }
    let p = Parser::new(None).unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data");
    let mut failures = Vec::new();
    let mut incoming = 0;
    for name in ["notifications-dev.toml", "notifications-collected.toml", "notifications-holdout.toml"] {
        let file: File = toml::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap();
        for c in file.case {
            let got = p.parse(&notice(&c.app, &c.title, &c.text));
            if c.expect == "incoming" {
                incoming += 1;
                let want = (c.channel.clone().unwrap(), Fen::parse_yuan(c.amount.as_deref().unwrap()).unwrap());
                if got.as_ref().map(|p| (p.channel.code().to_owned(), p.amount)) != Ok(want) {
                    failures.push(format!("missed {}: {got:?}", c.id));
                }
            } else if got.is_ok() {
                failures.push(format!("look-alike {} read as {got:?}", c.id));
            }
        }
    }
    assert!(incoming > 100);
    assert!(failures.is_empty(), "{failures:#?}");
}
