// Overview: the gateway link, each source's health, the phone app's setup
// QR, today's takings and the latest payments.

import { clear, h } from "../dom.js";
import { t } from "../i18n.js";
import { call } from "../tauri.js";
import { channelName, money, sourceName, when } from "../format.js";
import { paymentStatus } from "./payments.js";

interface Overview {
  link: { paired: boolean; gateway: string | null; merchant_id: string | null; merchant_name: string | null; device_id: string | null; live: boolean; synced_at: number | null };
  listen: string | null;
  lan: boolean;
  phone: { config: string; qr: string } | null;
  sources: { name: string; up: boolean | null; last_seen: number | null; errors: number; last_error: string }[];
  today_count: number;
  today_total: string;
  claimed: number;
  open: number;
  queued: number;
  recent: { id: string; channel: string; amount: string; observed_at: number; source: string; status: string; order_id: string | null }[];
}

function card(title: string, label: string, ...body: (Node | string)[]): HTMLElement {
  return h("section", { class: "card", "aria-label": label }, h("h2", {}, title), ...body);
}

function stat(label: string, value: string, sub: string, cls = ""): HTMLElement {
  return h("div", { class: `stat ${cls}`, role: "group", "aria-label": label },
    h("div", { class: "stat-label" }, label),
    h("div", { class: "stat-value" }, value),
    h("div", { class: "stat-sub" }, sub));
}

export async function render(root: HTMLElement): Promise<void> {
  const o = await call<Overview>("overview");
  clear(root);
  const linkState = !o.link.paired ? t("link_unpaired") : o.link.live ? t("link_live") : t("link_offline");
  root.append(
    h("div", { class: "stats" },
      stat(t("today"), money(o.today_total), t("today_count", { n: o.today_count })),
      stat(t("to_confirm"), String(o.claimed), `${t("open_orders")} ${o.open}`, o.claimed > 0 ? "attention" : ""),
      stat(t("queued"), String(o.queued), ""),
      stat(t("gateway"), linkState, o.link.merchant_name ?? o.link.gateway ?? t("pair_hint"), o.link.live ? "good" : "warn"),
    ),
  );
  const sources = h("table", { class: "table", "aria-label": t("sources") },
    h("thead", {}, h("tr", {}, h("th", {}, t("source")), h("th", {}, t("status")), h("th", {}, t("last_seen")), h("th", {}, t("errors")))),
    h("tbody", {}, ...o.sources.map((s) => {
      const up = s.up ?? (s.last_seen !== null && Date.now() - s.last_seen < 60000);
      const label = s.name === "phone" ? (up ? t("online") : t("offline")) : up ? t("up") : t("down");
      return h("tr", { "data-source": s.name },
        h("td", {}, sourceName(s.name)),
        h("td", { class: "nowrap" }, h("span", { class: up ? "dot good" : "dot bad", "aria-hidden": "true" }), label),
        h("td", { class: "nowrap" }, when(s.last_seen)),
        h("td", { title: s.last_error }, String(s.errors)));
    })));
  const phone = o.phone
    ? h("div", { class: "phone" },
        h("img", { src: o.phone.qr, alt: t("phone_qr_alt"), width: 150, height: 150, class: "qr" }),
        h("dl", {},
          h("dt", {}, t("listen_address")), h("dd", {}, h("code", {}, o.listen ?? "")),
          h("dt", {}, t("push_key")), h("dd", {}, h("code", { "aria-label": t("push_key") }, o.phone.config.split("/").pop() ?? "")),
          h("dt", {}, t("host_key")), h("dd", {}, h("code", { "aria-label": t("host_key") }, o.phone.config))),
      )
    : h("p", {}, t("lan_off"));
  const link = o.link.paired
    ? h("dl", { class: "kv" },
        h("dt", {}, t("gateway")), h("dd", {}, o.link.gateway ?? ""),
        h("dt", {}, t("merchant")), h("dd", {}, `${o.link.merchant_name ?? ""} (${o.link.merchant_id ?? ""})`),
        h("dt", {}, t("device")), h("dd", {}, o.link.device_id ?? ""),
        h("dt", {}, t("last_sync")), h("dd", {}, when(o.link.synced_at)))
    : h("p", {}, t("pair_hint"));
  const recent = o.recent.length === 0
    ? h("p", { class: "muted" }, t("no_payments"))
    : h("ul", { class: "recent", "aria-label": t("recent_payments") }, ...o.recent.map((p) =>
        h("li", {},
          h("span", { class: "time" }, when(p.observed_at)),
          h("span", {}, channelName(p.channel)),
          h("strong", { class: "money" }, money(p.amount)),
          paymentStatus(p.status))));
  root.append(h("div", { class: "grid2" },
    card(t("gateway"), t("gateway"), link),
    card(t("sources"), t("sources"), sources),
    card(t("phone_setup"), t("phone_setup"), h("p", { class: "muted" }, t("phone_setup_hint")), phone),
    card(t("recent_payments"), t("recent_payments"), recent),
  ));
}
