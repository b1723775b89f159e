//! 就付收款助手, the desktop collector: a Tauri window over the collector
//! core. The core runs inside the app exactly as in `jiufu-collector run`;
//! every action in the window is a core function (see `commands`).

pub mod alerts;
pub mod commands;
pub mod core;
pub mod prefs;
pub mod tray;
pub mod views;

use core::Core;
use std::sync::atomic::AtomicBool;
use std::time::Instant;
use tauri::{AppHandle, Emitter, Manager, Runtime};

/// When the process started, and whether the window said it is ready.
pub struct Started(pub Instant, pub AtomicBool);

/// The screen the window opens on (`--screen NAME`, default the overview).
pub struct StartScreen(pub String);

/// Every command the window may call.
pub fn handler<R: Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        commands::overview,
        commands::orders,
        commands::confirm_order,
        commands::reject_order,
        commands::payments,
        commands::attach_payment,
        commands::record_payment,
        commands::codes,
        commands::decode_qr,
        commands::add_code,
        commands::set_code_enabled,
        commands::qr_image,
        commands::rules,
        commands::try_rules,
        commands::save_rules,
        commands::settings,
        commands::pair,
        commands::save_sources,
        commands::regenerate_key,
        commands::regenerate_smsf_secret,
        commands::save_prefs,
        commands::ready,
        commands::start_screen,
    ]
}

/// Shows the window and, if given, switches it to `screen`.
pub fn open_screen(app: &AppHandle, screen: &str) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
    if !screen.is_empty() {
        let _ = app.emit("navigate", screen);
    }
}

/// The D-Bus name prefix that keeps one app per collector store.
fn instance_name(db: &std::path::Path) -> String {
    // FNV-1a of the store's path: stable across runs, valid in a bus name.
    let path = std::fs::canonicalize(db).unwrap_or_else(|_| db.to_path_buf());
    let hash = path.to_string_lossy().bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3));
    format!("app.jiufu.collector.s{hash:016x}")
}

fn single_instance(instance: String) -> tauri::plugin::TauriPlugin<tauri::Wry> {
    tauri_plugin_single_instance::Builder::new().dbus_id(instance).callback(|app, _, _| open_screen(app, "")).build()
}

/// The app already runs on this store (its single-instance name is owned
/// on the session bus); checked before the core starts, so a second launch
/// never runs a second core.
fn already_running(instance: &str) -> bool {
    let name = format!("{instance}.SingleInstance");
    let owned = || -> zbus::Result<bool> {
        let conn = zbus::blocking::Connection::session()?;
        let bus = zbus::blocking::fdo::DBusProxy::new(&conn)?;
        Ok(bus.name_has_owner(zbus::names::BusName::try_from(name.as_str())?)?)
    };
    owned().unwrap_or(false)
}

/// Stops the core (queued writes finish) and exits.
pub fn quit(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        app.state::<Core>().shutdown().await;
        app.exit(0);
    });
}

pub fn run() -> std::process::ExitCode {
    let started = Instant::now();
    jiufu_collector::init_logging();
    let args: Vec<String> = std::env::args().collect();
    let minimised_arg = args.iter().any(|a| a == "--minimised");
    let screen = args.iter().position(|a| a == "--screen").and_then(|i| args.get(i + 1)).cloned().unwrap_or_else(|| "overview".into());
    let config = match jiufu_collector::Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let context = tauri::generate_context!();
    let instance = instance_name(&config.db_path);
    if already_running(&instance) {
        // Another window runs on this store: the plugin asks it to come forward, then this process exits.
        let _ = tauri::Builder::default().plugin(single_instance(instance)).run(context);
        return std::process::ExitCode::SUCCESS;
    }
    let opened = tauri::async_runtime::block_on(Core::start(config));
    let core = match opened {
        Ok(core) => core,
        Err(e) => {
            eprintln!("error: {e:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let prefs = tauri::async_runtime::block_on(core.get().ui_prefs()).ok();
    let minimised = minimised_arg || prefs.is_some_and(|p| p.start_minimised);
    let result = tauri::Builder::default()
        // One window per store: starting the app again brings the running one forward.
        .plugin(single_instance(instance))
        .manage(core)
        .manage(Started(started, AtomicBool::new(false)))
        .manage(StartScreen(screen))
        .invoke_handler(handler())
        .setup(move |app| {
            let handle = app.handle();
            let tray = tray::build(handle);
            if let Err(e) = &tray {
                tracing::warn!(error = %e, "no tray icon on this desktop");
            }
            alerts::spawn(handle.clone());
            if let Some(w) = app.get_webview_window("main") {
                // With a tray the window can start hidden; without one it must show.
                if !minimised || tray.is_err() {
                    w.show()?;
                }
                if tray.is_ok() {
                    let hide = w.clone();
                    w.on_window_event(move |e| {
                        if let tauri::WindowEvent::CloseRequested { api, .. } = e {
                            // Closing the window keeps the collector running in the tray.
                            api.prevent_close();
                            let _ = hide.hide();
                        }
                    });
                }
            }
            Ok(())
        })
        .run(context);
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests;
