use super::*;

fn vectors() -> toml::Table {
    // The contract's vectors (docs/spec/vectors.toml), built into the test.
    include_str!("../../../../docs/spec/vectors.toml").parse().expect("docs/spec/vectors.toml parses")
}

fn section<'a>(t: &'a toml::Table, name: &str) -> &'a toml::Table {
    name.split('.').fold(t, |cur, part| cur[part].as_table().unwrap_or_else(|| panic!("{name}")))
}

fn get<'a>(t: &'a toml::Table, key: &str) -> &'a str {
    t[key].as_str().unwrap_or_else(|| panic!("{key}"))
}

/// The vector's signing string back into parameters, shuffled and with an
/// empty one and the signature's own added: they must not count.
fn params(string: &str, own: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut p: Vec<(String, String)> =
        string.split('&').map(|kv| kv.split_once('=').unwrap()).map(|(k, v)| (k.to_owned(), v.to_owned())).rev().collect();
    p.push(("empty".into(), String::new()));
    p.extend(own.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    p
}

#[test]
fn epay_v1_vectors() {
    let v = vectors();
    for name in ["epay.v1", "epay.v1_int_money"] {
        let t = section(&v, name);
        let p = params(get(t, "string"), &[("sign", "x"), ("sign_type", "MD5")]);
        assert_eq!(signing_string(&p, &["sign", "sign_type"]), get(t, "string"), "{name}");
        assert_eq!(epay_sign(&p, get(t, "key")), get(t, "sign"), "{name}");
    }
    // money as PHP sends it is signed as sent: "1" and "1.00" differ
    assert_ne!(get(section(&v, "epay.v1"), "sign"), get(section(&v, "epay.v1_int_money"), "sign"));
}

#[test]
fn epusdt_and_gmpay_vectors() {
    let v = vectors();
    for name in ["epusdt", "epusdt.notify"] {
        let t = section(&v, name);
        let p = params(get(t, "string"), &[("signature", "x")]);
        assert_eq!(epusdt_signature(&p, get(t, "token")), get(t, "signature"), "{name}");
    }
    let t = section(&v, "gmpay.v2");
    let p = params(get(t, "string"), &[("signature", "x")]);
    assert_eq!(gmpay_signature(&p, get(t, "key")), get(t, "signature"));
}

#[test]
fn epusdt_json_bodies_sign_numbers_in_shortest_form() {
    let v = vectors();
    let t = section(&v, "epusdt.shop_float");
    let fields = json_fields(get(t, "raw_json").as_bytes()).unwrap();
    assert_eq!(signing_string(&fields, &["signature"]), get(t, "string"));
    assert_eq!(epusdt_signature(&fields, get(t, "token")), get(t, "signature"));
    // the notify's JSON, empty values and null skipped
    let notify = br#"{"trade_id":"T1","order_id":"20220201030210321","amount":10,"actual_amount":9.99,"token":"","block_transaction_id":"","status":2,"x":null}"#;
    let t = section(&v, "epusdt.notify");
    assert_eq!(signing_string(&json_fields(notify).unwrap(), &["signature"]), get(t, "string"));
}

#[test]
fn v_free_sign_create_order_vector() {
    let v = vectors();
    let t = section(&v, "vmq.create_order");
    let got = vmq_create_order_sign(get(t, "payId"), get(t, "param"), get(t, "type"), get(t, "price"), get(t, "key"));
    assert_eq!(got, get(t, "sign"));
}

#[test]
fn numbers_and_hostile_bodies() {
    for (raw, want) in [("10.0", "10"), ("9.90", "9.9"), ("0.10", "0.1"), ("007", "7"), ("-0.50", "-0.5"), ("-0.0", "0"), ("42", "42")] {
        assert_eq!(canonical_number(raw).as_deref(), Some(want), "{raw}");
    }
    for raw in ["1e3", "1.", ".5", "--1", "1.2.3", "0x10", "", "-"] {
        assert_eq!(canonical_number(raw), None, "{raw}");
    }
    assert_eq!(json_fields(b"[1]"), Err(JsonFieldsError::NotAnObject));
    assert_eq!(json_fields(br#"{"amount":1,"amount":2}"#), Err(JsonFieldsError::Repeated("amount".into())));
    assert_eq!(json_fields(br#"{"amount":{"v":1}}"#), Err(JsonFieldsError::Nested("amount".into())));
    assert_eq!(json_fields(br#"{"amount":1e3}"#), Err(JsonFieldsError::BadNumber("amount".into())));
    assert_eq!(json_fields(br#"{"ok":true,"n":"a&b"}"#).unwrap(), vec![("ok".into(), "true".into()), ("n".into(), "a&b".into())]);
}

#[test]
fn vmq_notify_and_key_signs_are_the_plain_concatenations() {
    // Independent of the function under test: the md5 of the concatenation
    // written out, as V免签's PHP server computes it.
    assert_eq!(
        vmq_notify_sign("1547129707139", "vone666", "2", "0.1", "0.09", "a7cc8678193ee9c70ae3d75fd04ae6a9"),
        md5_hex(&["1547129707139vone66620.10.09a7cc8678193ee9c70ae3d75fd04ae6a9"])
    );
    assert_eq!(vmq_key_sign("1700000000000", "KEY123"), "11a7fe3d9a41626372d5b1bd5b8d2b82", "the vmq.app_heart vector");
}

#[test]
fn json_members_are_capped_like_form_fields() {
    let mut body = String::from("{");
    for i in 0..MAX_JSON_MEMBERS {
        body.push_str(&format!(r#""k{i}":1,"#));
    }
    let at_cap = format!("{}}}", body.trim_end_matches(','));
    assert_eq!(json_fields(at_cap.as_bytes()).unwrap().len(), MAX_JSON_MEMBERS);
    let over = format!(r#"{body}"one_more":1}}"#);
    assert_eq!(json_fields(over.as_bytes()), Err(JsonFieldsError::TooMany(MAX_JSON_MEMBERS)));
}

#[test]
fn json_duplicates_are_found_in_linear_time() {
    // Far apart, and each name compared once: a set, not a scan per member.
    let mut body = String::from(r#"{"amount":1,"#);
    for i in 0..(MAX_JSON_MEMBERS - 2) {
        body.push_str(&format!(r#""k{i}":1,"#));
    }
    body.push_str(r#""amount":2}"#);
    assert_eq!(json_fields(body.as_bytes()), Err(JsonFieldsError::Repeated("amount".into())));
    // The same name escaped differently is the same name.
    assert_eq!(json_fields(br#"{"amount":1,"\u0061mount":2}"#), Err(JsonFieldsError::Repeated("amount".into())));
}

#[test]
fn the_signing_string_is_hashed_once_for_every_key() {
    let p = [("order_id", "1"), ("amount", "10"), ("signature", "x")];
    let prefix = Md5Prefix::new(&[&epusdt_signing_string(&p)]);
    for key in ["k1", "another-key", ""] {
        assert_eq!(prefix.with_key(key), epusdt_signature(&p, key), "{key}");
    }
    let vmq = Md5Prefix::new(&["payId", "param", "2", "10.00"]);
    assert_eq!(vmq.with_key("KEY"), vmq_create_order_sign("payId", "param", "2", "10.00", "KEY"));
}

#[test]
fn only_hex_digests_can_be_signatures() {
    assert!(is_hex_digest(&"a".repeat(32)) && is_hex_digest(&"F0".repeat(32)));
    for bad in ["", "abc", &"g".repeat(32), &"a".repeat(31), &"a".repeat(33), &"a".repeat(63), &"a".repeat(65), &"a".repeat(40)] {
        assert!(!is_hex_digest(bad), "{bad}");
    }
}
