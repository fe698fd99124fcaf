import type { Principal } from "../../auth/principal.js";

/**
 * Refuses an authenticated key before its call's request is read (a key
 * already past its requests per minute: UsageHooks.screen), so that what such
 * a key sends, however large, costs nothing to refuse. Throws the refusal.
 */
export type KeyScreen = (principal: Principal) => Promise<void>;
