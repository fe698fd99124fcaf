import { useIsFetching } from "@tanstack/react-query";
import { useEffect, useRef, type ReactNode } from "react";
import { useCallsFeed } from "../calls-feed";
import { PAGES, PageLink, useRoute } from "../router";

export function Layout({ children, onSignOut }: { children: ReactNode; onSignOut(): void }) {
  const { page } = useRoute();
  const title = PAGES.find((p) => p.path === page)?.title ?? "Overview";
  const main = useRef<HTMLElement>(null);
  const feed = useCallsFeed();
  const fetching = useIsFetching();
  const shown = useRef(title);
  // A new page: its title in the tab, and focus at its heading for keyboard and screen-reader users (not on the first page: focus starts at the top).
  useEffect(() => {
    document.title = `${title} · Switchboard console`;
    if (shown.current !== title) main.current?.focus();
    shown.current = title;
  }, [title]);
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">
          <svg viewBox="0 0 32 32" width="24" height="24" aria-hidden="true">
            <rect width="32" height="32" rx="7" fill="#1f3a8a" />
            <path d="M8 11h16M8 16h10M8 21h16" stroke="#fff" strokeWidth="3" strokeLinecap="round" />
          </svg>
          Switchboard
        </span>
        <nav aria-label="Console">
          <ul>
            {PAGES.map((p) => (
              <li key={p.path}>
                <PageLink to={p.path}>{p.title}</PageLink>
              </li>
            ))}
          </ul>
        </nav>
        <span className={`live-dot ${feed.state}`} title={`Live calls: ${feed.state}`}>
          <span aria-hidden="true">●</span>
          <span className="sr-only">Live calls feed: </span>
          {feed.state === "live" ? "live" : feed.state}
        </span>
        <button type="button" className="sign-out" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main id="main" ref={main} tabIndex={-1} data-fetching={fetching > 0}>
        <h1>{title}</h1>
        {feed.state === "refused" && feed.error && (
          <div className="error" role="alert">
            <strong>The gateway refused this key</strong> <code className="reason">{feed.error.reason}</code>
            <p>{feed.error.message}</p>
          </div>
        )}
        {children}
      </main>
    </div>
  );
}
