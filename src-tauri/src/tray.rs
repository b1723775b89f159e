//! The tray icon: the link's state and the orders waiting for the operator
//! in its tooltip; show the window, jump to claimed orders, quit.

use crate::core::Core;
use jiufu_collector::model::OrderFilter;
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager};

const TRAY: &str = "main";

pub fn build(app: &AppHandle) -> tauri::Result<()> {
    let show = MenuItem::with_id(app, "show", "显示窗口 Show window", true, None::<&str>)?;
    let orders = MenuItem::with_id(app, "orders", "待确认订单 Orders to confirm", true, None::<&str>)?;
    let payments = MenuItem::with_id(app, "payments", "收款记录 Payments", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "退出 Quit", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&show, &orders, &payments, &PredefinedMenuItem::separator(app)?, &quit])?;
    let mut tray = TrayIconBuilder::with_id(TRAY).menu(&menu).tooltip("就付收款助手 Jiufu Collector").show_menu_on_left_click(false);
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.on_menu_event(|app, event| match event.id().as_ref() {
        "show" => crate::open_screen(app, ""),
        "orders" => crate::open_screen(app, "orders"),
        "payments" => crate::open_screen(app, "payments"),
        "quit" => crate::quit(app),
        _ => {}
    })
    .on_tray_icon_event(|tray, event| {
        if let TrayIconEvent::Click { button: MouseButton::Left, button_state: MouseButtonState::Up, .. } = event {
            crate::open_screen(tray.app_handle(), "");
        }
    })
    .build(app)?;
    Ok(())
}

/// Updates the tooltip: linked or not, and how many orders wait.
pub async fn refresh(app: &AppHandle) {
    let Some(tray) = app.tray_by_id(TRAY) else { return };
    let c = app.state::<Core>().get();
    let claimed = c.orders(OrderFilter::Claimed, "", 1000).await.map(|o| o.len()).unwrap_or(0);
    let link = if c.status().orders_live { "已连接 online" } else { "未连接 offline" };
    let _ = tray.set_tooltip(Some(format!("就付收款助手 · {link} · 待确认 {claimed} to confirm")));
}
