// Settings: pair with a gateway, sources and the listener, keys, language,
// start minimised and at login.

import { clear, h } from "../dom.js";
import { Lang, t } from "../i18n.js";
import { call } from "../tauri.js";
import { act, ask, toast } from "../ui.js";

interface SettingsView {
  link: { paired: boolean; gateway: string | null; merchant_id: string | null; merchant_name: string | null; device_id: string | null };
  listen: string;
  lan: boolean;
  dbus: boolean;
  smsf_secret: string;
  smsf_webhook: string;
  smsf_unsigned: boolean;
  push_key: string;
  pinned: string[];
  prefs: { language: Lang; start_minimised: boolean; autostart: boolean };
  database: string;
}

function check(label: string, checked: boolean, disabled: boolean): [HTMLElement, HTMLInputElement] {
  const box = h("input", { type: "checkbox", checked, disabled, "aria-label": label }) as HTMLInputElement;
  return [h("label", { class: "check" }, box, h("span", {}, label)), box];
}

function pinnedNote(on: boolean): HTMLElement | null {
  return on ? h("small", { class: "muted" }, t("pinned")) : null;
}

/** Copies `text` to the clipboard (the web API, else the old command). */
async function copyText(text: string): Promise<void> {
  let ok = false;
  try {
    await navigator.clipboard.writeText(text);
    ok = true;
  } catch {
    const area = h("textarea", { readonly: true, class: "offscreen" }, text) as HTMLTextAreaElement;
    document.body.append(area);
    area.select();
    ok = document.execCommand("copy");
    area.remove();
  }
  toast(ok ? t("copied_toast") : t("copy_failed"), !ok);
}

function copyButton(label: string, value: () => string): HTMLElement {
  return h("button", { type: "button", class: "secondary", "aria-label": `${t("copy")} ${label}`, onclick: () => void copyText(value()) }, t("copy"));
}

/** SmsForwarder: how to set it up, its webhook address and secret (copyable), and the unsafe unsigned switch. */
function smsforwarderCard(s: SettingsView, root: HTMLElement): HTMLElement {
  const pinned = (k: string) => s.pinned.includes(k);
  const secret = h("input", { "aria-label": t("smsf_secret"), value: s.smsf_secret, autocomplete: "off", spellcheck: "false", minlength: 16, maxlength: 256, required: true, disabled: pinned("smsf_secret") }) as HTMLInputElement;
  const [unsignedRow, unsigned] = check(t("smsf_unsigned"), s.smsf_unsigned, pinned("smsf_unsigned"));
  unsigned.addEventListener("change", async () => {
    if (unsigned.checked && !(await ask(t("smsf_unsigned"), [h("p", { class: "bad" }, t("smsf_unsigned_confirm"))], t("yes"), true))) {
      unsigned.checked = false;
    }
  });
  const form = h("form", { class: "stack", "aria-label": t("smsf_card") },
    h("p", {}, t("smsf_howto")),
    h("ol", { class: "howto" }, h("li", {}, t("smsf_step1")), h("li", {}, t("smsf_step2")), h("li", {}, t("smsf_step3")), h("li", {}, t("smsf_step4")), h("li", {}, t("smsf_step5"))),
    h("dl", { class: "kv" },
      h("dt", {}, t("smsf_webhook")),
      h("dd", {}, h("code", { "aria-label": t("smsf_webhook") }, s.smsf_webhook), " ", copyButton(t("smsf_webhook"), () => s.smsf_webhook))),
    h("label", { class: "field" }, h("span", {}, t("smsf_secret")), secret, h("small", { class: "muted" }, t("smsf_hint")), pinnedNote(pinned("smsf_secret"))),
    h("div", { class: "actions" },
      copyButton(t("smsf_secret"), () => secret.value),
      h("button", { type: "button", class: "danger", "aria-label": t("regenerate_smsf"), disabled: pinned("smsf_secret"),
        onclick: async () => {
          if (await ask(t("regenerate_smsf"), [h("p", {}, t("regenerate_smsf_confirm"))], t("regenerate_smsf"), true)) {
            await act(() => call("regenerate_smsf_secret"), () => t("smsf_toast")).then(() => render(root, true));
          }
        } }, t("regenerate_smsf"))),
    unsignedRow, pinnedNote(pinned("smsf_unsigned")),
    s.smsf_unsigned ? h("p", { class: "warning", role: "alert" }, t("warn_smsf_unsigned")) : null,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", "aria-label": `${t("save")} ${t("smsf_card")}` }, t("save"))));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void act(() => call("save_sources", { listen: s.listen, lan: s.lan, dbus: s.dbus, smsf_secret: secret.value, smsf_unsigned: unsigned.checked }), () => t("saved_toast"))
      .then((r) => { if (r !== undefined) void render(root, true); });
  });
  return form;
}

export async function render(root: HTMLElement, first: boolean): Promise<void> {
  if (!first && root.childElementCount > 0) return;
  const s = await call<SettingsView>("settings");
  clear(root);
  const pinned = (k: string) => s.pinned.includes(k);

  const gateway = h("input", { type: "url", required: true, placeholder: "https://pay.example.com", "aria-label": t("gateway_url"), value: s.link.gateway ?? "" }) as HTMLInputElement;
  const token = h("input", { required: true, autocomplete: "off", "aria-label": t("pairing_token") }) as HTMLInputElement;
  const [insecureRow, insecure] = check(t("insecure_http"), false, false);
  const pairForm = h("form", { class: "stack", "aria-label": t("pairing") },
    s.link.paired ? h("p", { class: "good", role: "status" }, t("paired_as", { merchant: `${s.link.merchant_name ?? ""} (${s.link.merchant_id ?? ""})`, device: s.link.device_id ?? "" })) : null,
    h("p", { class: "muted" }, t("pairing_hint")),
    h("label", { class: "field" }, h("span", {}, t("gateway_url")), gateway),
    h("label", { class: "field" }, h("span", {}, t("pairing_token")), token),
    insecureRow,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", "aria-label": t("pair") }, t("pair"))));
  pairForm.addEventListener("submit", (e) => {
    e.preventDefault();
    void act(() => call<{ merchant_name: string }>("pair", { gateway: gateway.value, token: token.value, insecure_http: insecure.checked }), (p) => t("paired_toast", { name: p.merchant_name }))
      .then((r) => { if (r) void render(root, true); });
  });

  const [lanRow, lan] = check(t("lan_enabled"), s.lan, pinned("lan"));
  const [dbusRow, dbus] = check(t("dbus_enabled"), s.dbus, pinned("dbus"));
  const listen = h("input", { required: true, "aria-label": t("listen_address"), value: s.listen, disabled: pinned("listen") }) as HTMLInputElement;
  const sourcesForm = h("form", { class: "stack", "aria-label": t("sources_settings") },
    lanRow, pinnedNote(pinned("lan")),
    h("label", { class: "field" }, h("span", {}, t("listen_address")), listen, pinnedNote(pinned("listen"))),
    dbusRow, pinnedNote(pinned("dbus")),
    h("p", { class: "muted" }, t("restart_hint")),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", "aria-label": `${t("save")} ${t("sources_settings")}` }, t("save"))));
  sourcesForm.addEventListener("submit", (e) => {
    e.preventDefault();
    void act(() => call("save_sources", { listen: listen.value, lan: lan.checked, dbus: dbus.checked, smsf_secret: s.smsf_secret, smsf_unsigned: s.smsf_unsigned }), () => t("saved_toast"));
  });

  const regen = h("button", { type: "button", class: "danger", "aria-label": t("regenerate"), disabled: pinned("key"),
    onclick: async () => {
      if (await ask(t("regenerate"), [h("p", {}, t("regenerate_confirm"))], t("regenerate"), true)) {
        await act(() => call("regenerate_key"), () => t("key_toast")).then(() => render(root, true));
      }
    } }, t("regenerate"));
  const keys = h("div", { class: "stack" },
    h("dl", { class: "kv" }, h("dt", {}, t("push_key")), h("dd", {}, h("code", { "aria-label": t("push_key") }, s.push_key), pinnedNote(pinned("key")))),
    h("div", { class: "actions" }, regen));

  const [minRow, min] = check(t("start_minimised"), s.prefs.start_minimised, false);
  const [autoRow, auto] = check(t("autostart"), s.prefs.autostart, false);
  const savePrefs = () => void act(() => call("save_prefs", { language: s.prefs.language, start_minimised: min.checked, autostart: auto.checked }), () => t("saved_toast"));
  min.addEventListener("change", savePrefs);
  auto.addEventListener("change", savePrefs);

  root.append(h("div", { class: "grid2" },
    h("section", { class: "card" }, h("h2", {}, t("pairing")), pairForm),
    h("section", { class: "card" }, h("h2", {}, t("sources_settings")), sourcesForm),
    h("section", { class: "card" }, h("h2", {}, t("keys")), keys),
    h("section", { class: "card" }, h("h2", {}, t("smsf_card")), smsforwarderCard(s, root)),
    h("section", { class: "card" }, h("h2", {}, t("preferences")), h("div", { class: "stack" }, minRow, autoRow),
      h("dl", { class: "kv" }, h("dt", {}, t("database")), h("dd", {}, h("code", {}, s.database)))),
  ));
}
