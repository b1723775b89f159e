// Rules: what the parser takes for a payment, a "try it" box, and the
// operator's own rules (checked before they are saved).

import { clear, h } from "../dom.js";
import { errorText, hasKey, t } from "../i18n.js";
import { call, CoreError } from "../tauri.js";
import { act } from "../ui.js";
import { channelName } from "../format.js";

interface RulesView {
  builtin: string;
  user: string;
  file: string | null;
}

interface Tried {
  payment: boolean;
  channel: string | null;
  amount: string | null;
  reason_code: string | null;
  reason_detail: string | null;
  reason: string | null;
}

function why(r: Tried): string {
  const key = `why_${r.reason_code ?? ""}`;
  return hasKey(key) ? t(key, { detail: r.reason_detail ?? "" }) : r.reason ?? "";
}

export async function render(root: HTMLElement, first: boolean): Promise<void> {
  if (!first && root.childElementCount > 0) return;
  const v = await call<RulesView>("rules");
  clear(root);
  const app = h("input", { name: "app", "aria-label": t("try_app"), value: "com.eg.android.AlipayGphone", list: "apps" }) as HTMLInputElement;
  const apps = h("datalist", { id: "apps" }, ...["com.eg.android.AlipayGphone", "com.tencent.mm", "com.tencent.mobileqq", "com.unionpay"].map((a) => h("option", { value: a })));
  const title = h("input", { name: "title", "aria-label": t("try_title_field"), value: "支付宝通知" }) as HTMLInputElement;
  const text = h("textarea", { name: "text", rows: 2, "aria-label": t("try_text") }) as HTMLTextAreaElement;
  text.value = "张三通过扫码向你付款0.01元";
  const result = h("p", { class: "result", role: "status", "aria-label": t("try_title") });
  const user = h("textarea", { rows: 10, class: "mono", "aria-label": t("user_rules"), spellcheck: "false", readonly: v.file !== null }) as HTMLTextAreaElement;
  user.value = v.user;
  const tryIt = h("form", { class: "try", "aria-label": t("try_title") },
    h("label", { class: "field" }, h("span", {}, t("try_app")), app, apps),
    h("label", { class: "field" }, h("span", {}, t("try_title_field")), title),
    h("label", { class: "field grow" }, h("span", {}, t("try_text")), text),
    h("button", { type: "submit", class: "primary", "aria-label": t("try_run") }, t("try_run")));
  tryIt.addEventListener("submit", (e) => {
    e.preventDefault();
    call<Tried>("try_rules", { app: app.value, title: title.value, text: text.value, draft: user.value || null })
      .then((r) => {
        result.className = r.payment ? "result good" : "result bad";
        result.textContent = r.payment ? t("try_payment", { channel: channelName(r.channel ?? ""), amount: `¥${r.amount}` }) : t("try_not", { why: why(r) });
      })
      .catch((e) => {
        result.className = "result bad";
        result.textContent = errorText(e as CoreError);
      });
  });
  const save = h("button", { type: "button", class: "primary", "aria-label": t("save"), disabled: v.file !== null,
    onclick: () => void act(() => call("save_rules", { text: user.value }), () => t("saved_toast")) }, t("save"));
  root.append(
    h("section", { class: "card" }, h("h2", {}, t("try_title")), h("p", { class: "muted" }, t("try_hint")), tryIt, result),
    h("section", { class: "card" }, h("h2", {}, t("user_rules")),
      h("p", { class: "muted" }, v.file ? t("rules_file", { file: v.file }) : t("user_rules_hint")), user, h("div", { class: "actions" }, save)),
    h("details", { class: "card" }, h("summary", {}, t("builtin_rules")), h("pre", { class: "rules", "aria-label": t("builtin_rules") }, v.builtin)),
  );
}
