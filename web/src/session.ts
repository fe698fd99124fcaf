// The signed-in key lives in this tab's sessionStorage only: never a cookie
// (nothing is sent unasked, so no CSRF), never localStorage (it leaves with
// the tab). It travels as an Authorization header on each call.
const STORAGE_KEY = "switchboard.console.key";

export function storedKey(): string | undefined {
  return sessionStorage.getItem(STORAGE_KEY) ?? undefined;
}

export function storeKey(key: string): void {
  sessionStorage.setItem(STORAGE_KEY, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}
