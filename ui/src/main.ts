// The window: navigation, language, refreshing on core events, and the
// shared dialog and toasts. Each screen lives in screens/.

import { $, clear, h } from "./dom.js";
import { errorText, Key, Lang, setLang, t } from "./i18n.js";
import { setRefresher, toast } from "./ui.js";
import { call, CoreError, on } from "./tauri.js";
import * as overview from "./screens/overview.js";
import * as orders from "./screens/orders.js";
import * as payments from "./screens/payments.js";
import * as codes from "./screens/codes.js";
import * as rules from "./screens/rules.js";
import * as settings from "./screens/settings.js";

export interface Screen {
  /** Draws the screen into `root`; called again on every refresh. */
  render(root: HTMLElement, first: boolean): Promise<void>;
}

const SCREENS: Record<string, [Key, Screen]> = {
  overview: ["screen_overview", overview],
  orders: ["screen_orders", orders],
  payments: ["screen_payments", payments],
  codes: ["screen_codes", codes],
  rules: ["screen_rules", rules],
  settings: ["screen_settings", settings],
};

let current = "overview";
let drawing = false;
let again = false;

interface Prefs {
  language: Lang;
  start_minimised: boolean;
  autostart: boolean;
}

function drawChrome(): void {
  $("#brand-name").textContent = t("brand");
  $(".sidebar").setAttribute("aria-label", t("nav_menu"));
  $("#lang-label").textContent = t("language");
  document.title = t("brand");
  const nav = $("#nav");
  clear(nav);
  for (const [name, [key]] of Object.entries(SCREENS)) {
    nav.append(
      h("li", {}, h("button", {
        type: "button",
        class: name === current ? "nav-item active" : "nav-item",
        "aria-label": t(key),
        "aria-current": name === current ? "page" : undefined,
        "data-screen": name,
        onclick: () => void go(name),
      }, t(key))),
    );
  }
  $("#screen-title").textContent = t(SCREENS[current][0]);
}

/** Redraws the current screen (coalescing calls made while drawing). */
async function refresh(first = false): Promise<void> {
  if (drawing) {
    again = true;
    return;
  }
  drawing = true;
  try {
    do {
      again = false;
      await SCREENS[current][1].render($("#screen"), first);
      first = false;
      await drawLink();
    } while (again);
  } catch (e) {
    toast(errorText(e as CoreError), true);
  } finally {
    drawing = false;
  }
}

async function go(screen: string): Promise<void> {
  if (!(screen in SCREENS)) return;
  current = screen;
  drawChrome();
  clear($("#screen"));
  await refresh(true);
  $("#screen").focus();
}

interface LinkSummary {
  link: { paired: boolean; live: boolean };
  claimed: number;
  failure: string | null;
  warnings: string[];
}

async function drawLink(): Promise<void> {
  const o = await call<LinkSummary>("overview");
  const badge = $("#link-badge");
  const state = !o.link.paired ? "unpaired" : o.link.live ? "live" : "offline";
  badge.className = `nav-foot link-${state}`;
  badge.textContent = t(state === "live" ? "link_live" : state === "offline" ? "link_offline" : "link_unpaired");
  const banner = $("#banner");
  const warning = o.warnings.includes("smsf_unsigned") ? t("warn_smsf_unsigned") : "";
  banner.hidden = !o.failure && !warning;
  banner.textContent = o.failure ? t("core_failed", { why: o.failure }) : warning;
  const orderNav = document.querySelector<HTMLElement>('[data-screen="orders"]');
  if (orderNav) orderNav.dataset.count = o.claimed > 0 ? String(o.claimed) : "";
}

async function setLanguage(l: Lang): Promise<void> {
  const p = await call<Prefs>("settings").then((s) => (s as unknown as { prefs: Prefs }).prefs);
  await call<Prefs>("save_prefs", { language: l, start_minimised: p.start_minimised, autostart: p.autostart });
  setLang(l);
  drawChrome();
  clear($("#screen"));
  await refresh(true);
}

async function start(): Promise<void> {
  let lang: Lang = "zh-CN";
  try {
    const s = await call<{ prefs: Prefs }>("settings");
    lang = s.prefs.language;
  } catch {
    // Outside the app: stay in Chinese.
  }
  setLang(lang);
  const select = $("#lang") as HTMLSelectElement;
  select.value = lang;
  select.onchange = () => void setLanguage(select.value as Lang);
  try {
    const screen = await call<string>("start_screen");
    if (screen in SCREENS) current = screen;
  } catch {
    // Outside the app: the overview.
  }
  drawChrome();
  await refresh(true);
  void call("ready", { rows: document.querySelectorAll("#screen tbody tr").length });
  let timer: number | undefined;
  on<{ kind: string; what?: string; code?: string }>("core", (e) => {
    if (e.kind === "refused" && e.what === "reject") toast(t("refused_reject", { code: e.code ?? "" }), true);
    // Bursts of events (a page of orders) redraw once.
    clearTimeout(timer);
    timer = window.setTimeout(() => void refresh(), 100);
  });
  on<string>("navigate", (screen) => void go(screen));
  // Countdowns tick every second without asking the core.
  setInterval(() => {
    for (const el of document.querySelectorAll<HTMLElement>("[data-expire]")) {
      el.dispatchEvent(new Event("tick"));
    }
  }, 1000);
  // A slow safety net, in case an event was missed.
  setInterval(() => void refresh(), 10000);
}

setRefresher(refresh);
void start();
