// The app's commands and events, through the global Tauri API the shell
// injects (no packages fetched at run time).

interface TauriGlobal {
  core: { invoke<T>(cmd: string, args?: Record<string, unknown>): Promise<T> };
  event: { listen<T>(name: string, cb: (e: { payload: T }) => void): Promise<() => void> };
}

declare global {
  interface Window {
    __TAURI__?: TauriGlobal;
  }
}

/** A refusal from the core: a stable code and an English explanation. */
export interface CoreError {
  code: string;
  message: string;
}

function tauri(): TauriGlobal {
  if (!window.__TAURI__) throw { code: "no_shell", message: "not running inside the app" } as CoreError;
  return window.__TAURI__;
}

export async function call<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
  try {
    return await tauri().core.invoke<T>(cmd, args);
  } catch (e) {
    if (e && typeof e === "object" && "code" in e) throw e as CoreError;
    throw { code: "internal", message: String(e) } as CoreError;
  }
}

export function on<T>(name: string, cb: (payload: T) => void): void {
  void tauri().event.listen<T>(name, (e) => cb(e.payload));
}
