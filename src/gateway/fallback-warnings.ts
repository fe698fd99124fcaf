import { howToEnable } from "../config/provider-presets.js";
import type { Logger } from "../observability/logger.js";
import type { Router } from "./router.js";

/**
 * Says at start which route fallbacks no call will reach, since calls skip
 * them without a word. Not refused: a chain may name vendors configured only
 * in some environments (documented), and a fallback is an extra, not what the
 * route serves. A name nothing serves is most likely misspelt: a warning. One
 * whose provider is not configured is as documented: an info line.
 */
export function logUnservedFallbacks(router: Router, logger: Logger): void {
  for (const { field, route, fallback, unconfiguredProvider } of router.unservedFallbacks()) {
    const where = { field, route, fallback };
    if (unconfiguredProvider) {
      logger.info(
        { ...where, provider: unconfiguredProvider },
        `route "${route}" falls back to "${fallback}" (${field}), which routes to provider "${unconfiguredProvider}", not configured here: calls skip it (${howToEnable(unconfiguredProvider)} to use it)`,
      );
    } else {
      logger.warn(
        where,
        `route "${route}" falls back to "${fallback}" (${field}), which no route or provider serves (a misspelt model name?): calls skip it. The gateway starts anyway, as fallbacks are optional; give it a route, name it "provider/model", or correct it`,
      );
    }
  }
}
