// The app's commands and events, through the IPC bridge the shell always
// injects (`__TAURI_INTERNALS__`). The app sets `withGlobalTauri: false`, so
// no global `__TAURI__` API exists for a page to reach; the window grants
// itself only the event permission it uses (capabilities/default.json).

interface TauriInternals {
  invoke<T>(cmd: string, args?: Record<string, unknown>): Promise<T>;
  transformCallback(cb: (message: unknown) => void, once?: boolean): number;
}

declare global {
  interface Window {
    __TAURI_INTERNALS__?: TauriInternals;
  }
}

/** A refusal from the core: a stable code and an English explanation. */
export interface CoreError {
  code: string;
  message: string;
}

function ipc(): TauriInternals {
  if (!window.__TAURI_INTERNALS__) throw { code: "no_shell", message: "not running inside the app" } as CoreError;
  return window.__TAURI_INTERNALS__;
}

export async function call<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
  try {
    return await ipc().invoke<T>(cmd, args);
  } catch (e) {
    if (e && typeof e === "object" && "code" in e) throw e as CoreError;
    throw { code: "internal", message: String(e) } as CoreError;
  }
}

/** Follows an event the app emits (the event plugin's `listen`, as its JS API calls it). */
export function on<T>(name: string, cb: (payload: T) => void): void {
  const bridge = ipc();
  const handler = bridge.transformCallback((e) => cb((e as { payload: T }).payload));
  void bridge.invoke("plugin:event|listen", { event: name, target: { kind: "Any" }, handler });
}
