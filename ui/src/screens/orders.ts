// Orders: live waiting and claimed orders (claimed first, highlighted)
// with countdowns; confirm, or reject a claim with a reason; search and
// filter the history.

import { clear, h } from "../dom.js";
import { t } from "../i18n.js";
import { call } from "../tauri.js";
import { act, ask, tabs } from "../ui.js";
import { channelName, countdown, dialectName, money, stateName, when } from "../format.js";

export interface Order {
  order_id: string;
  order_no: string;
  channel: string;
  /** The state as the gateway sent it: its code, or the text of a state this version does not know. */
  state: number | string;
  /** null for a state this version does not know; only used to name the state. */
  state_code: number | null;
  /** Waiting for the customer's money. */
  waiting: boolean;
  /** The customer says they paid, and this version knows every value of the order: confirm or reject. */
  claimed: boolean;
  /** Paid and confirmed. */
  paid: boolean;
  /** Expired (a late payment can still be confirmed while it is payable). */
  expired: boolean;
  /** Waiting for money or claimed: it has a countdown. */
  open: boolean;
  /** Can still take a payment: it can be confirmed, and a payment attached to it. */
  payable: boolean;
  order_amount: string;
  payable_amount: string;
  subject: string;
  created_at: number;
  expire_at: number;
  claimed_at: number | null;
  /** The shop protocol the order came through: jiufu, epay, epusdt, gmpay or vmq. */
  dialect: string;
  /**
   * Fields a newer gateway sent that this version does not know (state,
   * channel, dialect, order_amount, payable_amount); their text is in the
   * field itself. Such an order is shown as unknown and cannot be acted on.
   */
  unknown: string[];
}

const FILTERS = [["open", "filter_open"], ["claimed", "filter_claimed"], ["history", "filter_history"], ["all", "filter_all"]] as const;

let filter: string = "open";
let search = "";
let list: HTMLElement | null = null;

async function confirmOrder(o: Order): Promise<void> {
  const body = [h("p", {}, t("confirm_body", { no: o.order_no, channel: channelName(o.channel), amount: money(o.payable_amount) }))];
  if (await ask(t("confirm_title"), body, t("confirm_yes"))) {
    await act(() => call("confirm_order", { order_id: o.order_id }), () => t("confirmed_toast", { no: o.order_no }));
  }
}

async function rejectOrder(o: Order): Promise<void> {
  const reason = h("textarea", { name: "reason", required: true, rows: 2, maxlength: 200, "aria-label": t("reason") }) as HTMLTextAreaElement;
  reason.value = t("reason_default");
  const body = [h("p", {}, t("reject_body", { no: o.order_no })), h("label", { class: "field" }, h("span", {}, t("reason")), reason)];
  if (await ask(t("reject_title"), body, t("reject_yes"), true)) {
    await act(() => call("reject_order", { order_id: o.order_id, reason: reason.value }), () => t("rejected_toast", { no: o.order_no }));
  }
}

/** A field's value, or "unknown: <text>" when this version does not know it. */
function known(o: Order, field: string, raw: string, shown: (raw: string) => string): string {
  return o.unknown.includes(field) ? t("unknown_value", { raw }) : shown(raw);
}

/** The state's look: claimed stands out, paid is good news, an ended order is muted. */
function stateClass(o: Order): string {
  if (o.claimed) return "s-claimed";
  if (o.paid) return "s-paid";
  return o.waiting ? "s-waiting" : "s-ended";
}

function row(o: Order): HTMLElement {
  const left = h("td", { "data-expire": o.expire_at }, o.open ? countdown(o.expire_at) : "");
  left.addEventListener("tick", () => (left.textContent = o.open ? countdown(o.expire_at) : ""));
  const actions = h("div", { class: "actions" });
  const unknown = o.unknown.length > 0;
  if (o.payable) {
    actions.append(h("button", { type: "button", class: "primary small", "aria-label": t("confirm_label", { no: o.order_no }), onclick: () => void confirmOrder(o) }, t("confirm")));
  }
  if (o.claimed) {
    actions.append(h("button", { type: "button", class: "danger small", "aria-label": t("reject_label", { no: o.order_no }), onclick: () => void rejectOrder(o) }, t("reject")));
  }
  const state = o.state_code === null
    ? h("span", { class: "state unknown" }, t("state_unknown", { raw: String(o.state) }))
    : h("span", { class: `state ${stateClass(o)}` }, stateName(o.state_code));
  const status = h("td", {}, state);
  if (unknown) status.append(h("div", { class: "muted small unknown-order" }, t("order_unknown")));
  return h("tr", { class: o.claimed ? "claimed" : unknown ? "unknown" : "", "data-order": o.order_id, "data-state": o.state_code ?? "unknown" },
    h("td", {}, h("div", {}, o.order_no), h("div", { class: "muted small" }, when(o.created_at * 1000)),
      h("div", { class: "muted small dialect", "data-dialect": o.dialect }, known(o, "dialect", o.dialect, dialectName))),
    h("td", { class: "subject" }, o.subject),
    h("td", {}, known(o, "channel", o.channel, channelName)),
    h("td", { class: "money" }, known(o, "payable_amount", o.payable_amount, money)),
    status,
    left,
    h("td", {}, actions));
}

let asked = 0;

async function draw(): Promise<void> {
  if (!list) return;
  const mine = ++asked;
  const orders = await call<Order[]>("orders", { filter, search });
  // A newer search was typed meanwhile: its answer wins.
  if (mine !== asked) return;
  const table = orders.length === 0
    ? h("p", { class: "muted empty" }, t("no_orders"))
    : h("table", { class: "table", "aria-label": t("screen_orders") },
        h("thead", {}, h("tr", {}, ...["order_no", "subject", "channel", "payable", "status", "time_left", "actions"].map((k) => h("th", {}, t(k as "order_no"))))),
        h("tbody", {}, ...orders.map(row)));
  clear(list);
  list.append(table);
}

export async function render(root: HTMLElement, first: boolean): Promise<void> {
  if (first || !list || !root.contains(list)) {
    clear(root);
    const tabBar = tabs(FILTERS, filter, (f) => { filter = f; void render(root, true); });
    const box = h("input", { type: "search", placeholder: t("search_orders"), "aria-label": t("search"), value: search }) as HTMLInputElement;
    box.addEventListener("input", () => { search = box.value; void draw(); });
    list = h("div", { class: "list" });
    root.append(h("div", { class: "toolbar" }, tabBar, box), list);
  }
  await draw();
}
