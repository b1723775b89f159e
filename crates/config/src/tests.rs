use super::*;
use std::collections::HashMap;

const BIND: Setting = Setting::new("bind", "JIUFU_BIND", Some("127.0.0.1:8080"));
const URL: Setting = Setting::new("public_url", "JIUFU_PUBLIC_URL", None);
const PRIVATE: Setting = Setting::new("allow_private_notify", "JIUFU_ALLOW_PRIVATE_NOTIFY", Some("false"));
const RETRY: Setting = Setting::new("notify_retry_secs", "JIUFU_NOTIFY_RETRY_SECS", None);
const ALL: &[Setting] = &[BIND, URL, PRIVATE, RETRY];

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |k| map.get(k).cloned()
}

fn file(text: &str) -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), text).unwrap();
    f
}

#[test]
fn defaults_then_file_then_environment() {
    let none = Layers::load_with(ALL, None, env(&[])).unwrap();
    assert_eq!(none.text(&BIND).unwrap().as_deref(), Some("127.0.0.1:8080"));
    assert_eq!(none.origin(&BIND), Origin::Default);
    assert_eq!(none.text(&URL).unwrap(), None);
    assert!(!none.is_set(&URL));

    let f = file("bind = \"0.0.0.0:9000\"\npublic_url = \"https://pay.example\"\n");
    let from_file = Layers::load_with(ALL, Some(f.path()), env(&[])).unwrap();
    assert_eq!(from_file.text(&BIND).unwrap().as_deref(), Some("0.0.0.0:9000"));
    assert_eq!(from_file.origin(&BIND), Origin::File(f.path().to_path_buf()));
    assert_eq!(from_file.name(&BIND), format!("`bind` in {}", f.path().display()));

    let both = Layers::load_with(ALL, Some(f.path()), env(&[("JIUFU_BIND", "127.0.0.1:1")])).unwrap();
    assert_eq!(both.text(&BIND).unwrap().as_deref(), Some("127.0.0.1:1"));
    assert_eq!(both.origin(&BIND), Origin::Env);
    assert_eq!(both.name(&BIND), "JIUFU_BIND");
    assert_eq!(both.text(&URL).unwrap().as_deref(), Some("https://pay.example"), "the file still counts for the rest");
}

#[test]
fn an_empty_variable_is_unset() {
    let f = file("bind = \"0.0.0.0:9000\"\n");
    let l = Layers::load_with(ALL, Some(f.path()), env(&[("JIUFU_BIND", ""), ("JIUFU_PUBLIC_URL", "")])).unwrap();
    assert_eq!(l.text(&BIND).unwrap().as_deref(), Some("0.0.0.0:9000"));
    assert_eq!(l.text(&URL).unwrap(), None);
}

#[test]
fn file_values_of_any_plain_type_read_as_text() {
    let f = file("allow_private_notify = true\nnotify_retry_secs = [15, 60, 180]\n");
    let l = Layers::load_with(ALL, Some(f.path()), env(&[])).unwrap();
    assert_eq!(l.flag(&PRIVATE).unwrap(), Some(true));
    assert_eq!(l.text(&RETRY).unwrap().as_deref(), Some("15,60,180"));
    let f = file("notify_retry_secs = \"15,60\"\nbind = 5\n");
    let l = Layers::load_with(ALL, Some(f.path()), env(&[])).unwrap();
    assert_eq!(l.text(&RETRY).unwrap().as_deref(), Some("15,60"));
    assert_eq!(l.text(&BIND).unwrap().as_deref(), Some("5"));
}

#[test]
fn unknown_keys_tables_and_bad_files_are_refused() {
    let f = file("bind = \"0.0.0.0:9000\"\nbnid = 1\n");
    let e = Layers::load_with(ALL, Some(f.path()), env(&[])).err().unwrap().to_string();
    assert!(e.contains("unknown setting `bnid`") && e.contains("bind, public_url"), "{e}");

    let f = file("[bind]\nx = 1\n");
    let l = Layers::load_with(ALL, Some(f.path()), env(&[])).unwrap();
    assert!(l.text(&BIND).unwrap_err().to_string().contains("not a table"));

    let f = file("public_url = \"postgres://u:s3cret@h/d\nbind = 1\n");
    let e = format!("{:#}", Layers::load_with(ALL, Some(f.path()), env(&[])).err().unwrap());
    assert!(e.contains("is not a valid configuration"), "{e}");
    assert!(!e.contains("s3cret"), "the quoted line stays out: {e}");

    let e = Layers::load_with(ALL, Some(Path::new("/nonexistent/jiufu.toml")), env(&[])).err().unwrap().to_string();
    assert!(e.contains("cannot read /nonexistent/jiufu.toml"), "{e}");
}

#[test]
fn one_boolean_reading() {
    for yes in ["1", "true", "TRUE", "Yes", "on", " On "] {
        assert_eq!(parse_bool(yes), Some(true), "{yes}");
    }
    for no in ["0", "false", "False", "NO", "off"] {
        assert_eq!(parse_bool(no), Some(false), "{no}");
    }
    for neither in ["", "2", "y", "enabled", "truee", "nope"] {
        assert_eq!(parse_bool(neither), None, "{neither}");
    }
    let e = flag("JIUFU_COLLECTOR_DBUS", "maybe").unwrap_err().to_string();
    assert!(e.contains("JIUFU_COLLECTOR_DBUS") && e.contains("maybe"), "{e}");

    let l = Layers::load_with(ALL, None, env(&[("JIUFU_ALLOW_PRIVATE_NOTIFY", "perhaps")])).unwrap();
    let e = l.flag(&PRIVATE).unwrap_err().to_string();
    assert!(e.starts_with("JIUFU_ALLOW_PRIVATE_NOTIFY"), "{e}");
}
