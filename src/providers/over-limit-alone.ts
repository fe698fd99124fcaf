// A request that alone asks for more than a vendor's per-minute limit of the
// account allows: no wait and no other key of the account serves it, so it is
// the caller's error and benches no key (each dialect says how its vendor
// tells it apart from an ordinary 429).

/** The ErrorInfo reason of a request that alone is over a vendor's per-minute limit. */
export const REQUEST_TOO_LARGE_FOR_VENDOR_LIMIT = "REQUEST_TOO_LARGE_FOR_VENDOR_LIMIT";

/** What the caller is told, besides the vendor's sentence: why neither a retry nor another key is tried. */
export const OVER_LIMIT_ALONE = "this request alone is over the vendor's per-minute limit, so no retry or other key can serve it; make it smaller";
