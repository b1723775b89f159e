// Payments: every observation, matched (with its order) or not; attach an
// unmatched payment to an order by hand; record one seen on the phone.

import { clear, h } from "../dom.js";
import { Key, t } from "../i18n.js";
import { call } from "../tauri.js";
import { act, ask, tabs } from "../ui.js";
import { CHANNELS, channelName, money, sourceName, when } from "../format.js";
import { Order } from "./orders.js";

interface Payment {
  id: string;
  source: string;
  channel: string;
  amount: string;
  observed_at: number;
  app: string;
  title: string;
  text: string;
  status: string;
  order_id: string | null;
  duplicate_of: string | null;
  note: string;
}

const FILTERS = [["all", "filter_all"], ["unmatched", "filter_unmatched"], ["matched", "filter_matched"], ["pending", "filter_pending"]] as const;
let filter = "all";
let list: HTMLElement | null = null;

export function paymentStatus(status: string): HTMLElement {
  const key = `pay_${status}` as Key;
  return h("span", { class: `pay ${status}` }, t(key));
}

async function attach(p: Payment): Promise<void> {
  const candidates = (await call<Order[]>("orders", { filter: "all", search: p.amount }))
    .filter((o) => o.channel === p.channel && o.payable_amount === p.amount && o.payable);
  if (candidates.length === 0) {
    await ask(t("attach_title", { amount: money(p.amount) }), [h("p", {}, t("attach_none"))], t("yes"));
    return;
  }
  const select = h("select", { required: true, "aria-label": t("order") },
    ...candidates.map((o) => h("option", { value: o.order_id }, `${o.order_no} · ${o.subject} · ${money(o.payable_amount)} · ${when(o.created_at * 1000)}`))) as HTMLSelectElement;
  const body = [h("p", {}, t("attach_body")), h("label", { class: "field" }, h("span", {}, t("order")), select)];
  if (await ask(t("attach_title", { amount: money(p.amount) }), body, t("attach_yes"))) {
    await act(() => call("attach_payment", { observation_id: p.id, order_id: select.value }), () => t("attached_toast"));
  }
}

function row(p: Payment): HTMLElement {
  const text = [p.title, p.text].filter((s) => s).join(" · ");
  return h("tr", { class: p.status === "unmatched" ? "unmatched" : "", "data-payment": p.id, "data-status": p.status },
    h("td", {}, when(p.observed_at)),
    h("td", {}, channelName(p.channel)),
    h("td", { class: "money" }, money(p.amount)),
    h("td", {}, sourceName(p.source)),
    h("td", { class: "subject", title: p.note }, text),
    h("td", {}, paymentStatus(p.status)),
    h("td", { class: "mono small" }, p.order_id ?? ""),
    h("td", {}, p.status === "unmatched" || p.status === "duplicate"
      ? h("button", { type: "button", class: "primary small", "aria-label": t("attach_label", { amount: money(p.amount) }), onclick: () => void attach(p) }, t("attach"))
      : null));
}

async function draw(): Promise<void> {
  if (!list) return;
  const payments = await call<Payment[]>("payments", { filter });
  const table = payments.length === 0
    ? h("p", { class: "muted empty" }, t("no_payments"))
    : h("table", { class: "table", "aria-label": t("screen_payments") },
        h("thead", {}, h("tr", {}, ...(["time", "channel", "amount", "source", "text", "status", "order", "actions"] as Key[]).map((k) => h("th", {}, t(k))))),
        h("tbody", {}, ...payments.map(row)));
  clear(list);
  list.append(table);
}

function recordForm(): HTMLElement {
  const channel = h("select", { name: "channel", "aria-label": t("channel") }, ...CHANNELS.map((c) => h("option", { value: c }, channelName(c)))) as HTMLSelectElement;
  const amount = h("input", { name: "amount", required: true, inputmode: "decimal", pattern: "[0-9]+(\\.[0-9]{1,2})?", placeholder: "12.34", "aria-label": t("amount") }) as HTMLInputElement;
  const note = h("input", { name: "note", maxlength: 200, "aria-label": t("note") }) as HTMLInputElement;
  const form = h("form", { class: "inline-form", "aria-label": t("record_title") },
    h("label", { class: "field" }, h("span", {}, t("channel")), channel),
    h("label", { class: "field" }, h("span", {}, t("amount")), amount),
    h("label", { class: "field grow" }, h("span", {}, t("note")), note),
    h("button", { type: "submit", class: "primary", "aria-label": t("record") }, t("record")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void act(() => call<{ outcome: "matched" | "pending" | "duplicate"; other: string | null }>("record_payment", { channel: channel.value, amount: amount.value, note: note.value }),
      (r) => t(`recorded_${r.outcome}`, { other: r.other ?? "" })).then((r) => { if (r) form.reset(); });
  });
  return h("details", { class: "card" }, h("summary", {}, t("record_title")), h("p", { class: "muted" }, t("record_hint")), form);
}

export async function render(root: HTMLElement, first: boolean): Promise<void> {
  if (first || !list || !root.contains(list)) {
    clear(root);
    const tabBar = tabs(FILTERS, filter, (f) => { filter = f; void render(root, true); });
    list = h("div", { class: "list" });
    root.append(recordForm(), h("div", { class: "toolbar" }, tabBar), list);
  }
  await draw();
}
