// Formatting shared by the screens. Money arrives from the core as text
// ("12.34") and is shown as text: the window never does arithmetic on it.

import { getLang, hasKey, t } from "./i18n.js";

export const CHANNELS = ["P901", "P902", "P903", "P904"] as const;

/** The protocol's channel names (`Channel::name_zh` / `name_en`), as the app's notifications use them. */
const CHANNEL_NAMES: Record<string, [string, string]> = {
  P901: ["支付宝", "Alipay"],
  P902: ["微信支付", "WeChat Pay"],
  P903: ["QQ钱包", "QQ Wallet"],
  P904: ["云闪付", "UnionPay QuickPass"],
};

export function channelName(code: string): string {
  const n = CHANNEL_NAMES[code];
  return n ? n[getLang() === "en" ? 1 : 0] : code;
}

/** The shop protocol an order came through (`shop-compat.md`), in the window's language. */
export function dialectName(dialect: string): string {
  const key = `dialect_${dialect}`;
  return hasKey(key) ? t(key) : t("dialect_other", { name: dialect });
}

export function money(amount: string): string {
  return `¥${amount}`;
}

export function stateName(code: number): string {
  const key = `state_${code}`;
  return hasKey(key) ? t(key) : String(code);
}

export function sourceName(name: string): string {
  const key = `src_${name.split(":")[0]}`;
  return hasKey(key) ? t(key) : name;
}

const pad = (n: number) => String(n).padStart(2, "0");

/** Epoch ms → local "MM-DD HH:MM:SS" (today: just the time). */
export function when(ms: number | null | undefined): string {
  if (!ms) return t("never");
  const d = new Date(ms);
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const today = new Date();
  if (d.toDateString() === today.toDateString()) return time;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

/** Seconds left until `expireAtSecs` as M:SS, or "expired". */
export function countdown(expireAtSecs: number): string {
  const left = Math.floor(expireAtSecs - Date.now() / 1000);
  if (left <= 0) return t("expired");
  const m = Math.floor(left / 60);
  return `${m}:${pad(left % 60)}`;
}
