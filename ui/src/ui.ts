// The window's shared pieces: toasts, the modal dialog, and running a core
// action with its refusal reported in the window's language.

import { $, clear, h } from "./dom.js";
import { errorText, Key, t } from "./i18n.js";
import { CoreError } from "./tauri.js";

let refresher: () => Promise<void> = async () => {};

export function setRefresher(f: () => Promise<void>): void {
  refresher = f;
}

export function toast(text: string, error = false): void {
  const el = h("div", { class: error ? "toast error" : "toast", role: error ? "alert" : "status" }, text);
  $("#toasts").append(el);
  setTimeout(() => el.remove(), error ? 8000 : 4000);
}

/** Runs a core action, reporting its refusal in the window's language. */
export async function act<T>(action: () => Promise<T>, done?: (v: T) => string): Promise<T | undefined> {
  try {
    const v = await action();
    if (done) toast(done(v));
    await refresher();
    return v;
  } catch (e) {
    toast(errorText(e as CoreError), true);
    return undefined;
  }
}

/** A modal dialog; resolves true when the operator accepts. */
export function ask(title: string, body: Node[], yes: string, danger = false): Promise<boolean> {
  const dialog = $("#dialog") as HTMLDialogElement;
  clear(dialog);
  return new Promise((resolve) => {
    const close = (ok: boolean) => {
      dialog.close();
      resolve(ok);
    };
    const form = h("form", { method: "dialog", class: "dialog-body", "aria-label": title },
      h("h2", {}, title),
      ...body,
      h("div", { class: "dialog-actions" },
        h("button", { type: "button", class: "secondary", "aria-label": t("cancel"), onclick: () => close(false) }, t("cancel")),
        h("button", { type: "submit", class: danger ? "danger" : "primary", "aria-label": yes }, yes),
      ),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      if (form.checkValidity()) close(true);
    });
    dialog.append(form);
    dialog.oncancel = () => resolve(false);
    dialog.showModal();
  });
}


/** Filter tabs: `pairs` of (value, text); `pick` is called with the chosen value. */
export function tabs(pairs: readonly (readonly [string, Key])[], current: string, pick: (value: string) => void): HTMLElement {
  return h("div", { class: "tabs", role: "tablist" }, ...pairs.map(([value, key]) =>
    h("button", { type: "button", role: "tab", "aria-selected": value === current ? "true" : "false", "aria-label": t(key),
      class: value === current ? "tab active" : "tab", onclick: () => pick(value) }, t(key))));
}
