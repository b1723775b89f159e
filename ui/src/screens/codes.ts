// Codes: add a receiving code by choosing or dropping its QR image
// (decoded and previewed) or pasting its text; fixed-amount codes;
// enable/disable; whether the gateway has them yet.

import { clear, h } from "../dom.js";
import { Key, errorText, t } from "../i18n.js";
import { call, CoreError } from "../tauri.js";
import { act, toast } from "../ui.js";
import { CHANNELS, channelName, money } from "../format.js";

interface Code {
  uid: string;
  channel: string;
  qr_text: string;
  amount: string | null;
  name: string;
  enabled: boolean;
}

interface CodesView {
  codes: Code[];
  synced: boolean;
  paired: boolean;
}

let list: HTMLElement | null = null;

function readBase64(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).replace(/^data:[^,]*,/, ""));
    r.onerror = () => reject(r.error);
    r.readAsDataURL(file);
  });
}

function addForm(): HTMLElement {
  const channel = h("select", { name: "channel", "aria-label": t("channel") }, ...CHANNELS.map((c) => h("option", { value: c }, channelName(c)))) as HTMLSelectElement;
  const file = h("input", { type: "file", accept: "image/png,image/jpeg", "aria-label": t("code_image"), class: "file" }) as HTMLInputElement;
  const preview = h("img", { alt: t("code_preview"), class: "preview", hidden: true }) as HTMLImageElement;
  const status = h("span", { class: "muted small", role: "status" });
  const text = h("textarea", { name: "qr_text", required: true, rows: 2, maxlength: 1024, "aria-label": t("code_text"), placeholder: "https://qr.alipay.com/…" }) as HTMLTextAreaElement;
  const amount = h("input", { name: "amount", inputmode: "decimal", pattern: "[0-9]+(\\.[0-9]{1,2})?", placeholder: t("any_amount"), "aria-label": t("fixed_amount") }) as HTMLInputElement;
  const name = h("input", { name: "name", maxlength: 64, "aria-label": t("name") }) as HTMLInputElement;
  const take = async (f: File | undefined) => {
    if (!f) return;
    preview.src = URL.createObjectURL(f);
    preview.hidden = false;
    status.textContent = "…";
    try {
      text.value = await call<string>("decode_qr", { image_base64: await readBase64(f) });
      status.textContent = t("decoded");
      if (text.value.includes("alipay")) channel.value = "P901";
      else if (text.value.includes("wxp://") || text.value.includes("weixin")) channel.value = "P902";
    } catch (e) {
      status.textContent = errorText(e as CoreError);
      toast(errorText(e as CoreError), true);
    }
  };
  file.addEventListener("change", () => void take(file.files?.[0]));
  // The native file button's text is the web view's, not ours: it sits invisible over the drop zone.
  const drop = h("label", { class: "drop" }, h("span", { "aria-hidden": "true", class: "drop-icon" }, "⬆"), h("span", {}, t("drop_here")), file);
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    void take(e.dataTransfer?.files?.[0]);
  });
  const form = h("form", { class: "code-form", "aria-label": t("add_code") },
    h("div", { class: "code-image" }, drop, preview, status),
    h("div", { class: "code-fields" },
      h("label", { class: "field" }, h("span", {}, t("channel")), channel),
      h("label", { class: "field" }, h("span", {}, t("code_text")), text, h("small", { class: "muted" }, t("code_text_hint"))),
      h("div", { class: "row" },
        h("label", { class: "field" }, h("span", {}, t("fixed_amount")), amount),
        h("label", { class: "field" }, h("span", {}, t("name")), name)),
      h("button", { type: "submit", class: "primary", "aria-label": t("add") }, t("add"))));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    void act(() => call("add_code", { channel: channel.value, qr_text: text.value, amount: amount.value, name: name.value }), () => t("added_toast"))
      .then((r) => {
        if (r) {
          form.reset();
          preview.hidden = true;
          status.textContent = "";
        }
      });
  });
  return h("section", { class: "card" }, h("h2", {}, t("add_code")), form);
}

async function draw(): Promise<void> {
  if (!list) return;
  const v = await call<CodesView>("codes");
  clear(list);
  const sync: Key = !v.paired ? "sync_unpaired" : v.synced ? "sync_done" : "sync_waiting";
  list.append(h("p", { class: `sync ${sync}`, role: "status", "aria-label": t(sync) }, t(sync)));
  if (v.codes.length === 0) {
    list.append(h("p", { class: "muted empty" }, t("no_codes")));
    return;
  }
  list.append(h("table", { class: "table", "aria-label": t("codes_list") },
    h("thead", {}, h("tr", {}, ...(["channel", "name", "amount", "code_text", "enabled"] as Key[]).map((k) => h("th", {}, t(k))))),
    h("tbody", {}, ...v.codes.map((c) => {
      const toggle = h("input", { type: "checkbox", checked: c.enabled, "aria-label": t("enable_label", { name: c.name || c.uid }) }) as HTMLInputElement;
      toggle.addEventListener("change", () => void act(() => call("set_code_enabled", { uid: c.uid, enabled: toggle.checked })));
      return h("tr", { "data-code": c.uid, class: c.enabled ? "" : "disabled" },
        h("td", {}, channelName(c.channel)),
        h("td", {}, c.name),
        h("td", { class: "money" }, c.amount ? money(c.amount) : t("any_amount")),
        h("td", { class: "mono small wrap" }, c.qr_text),
        h("td", {}, toggle));
    }))));
}

export async function render(root: HTMLElement, first: boolean): Promise<void> {
  if (first || !list || !root.contains(list)) {
    clear(root);
    list = h("section", { class: "card" });
    root.append(addForm(), list);
  }
  await draw();
}
