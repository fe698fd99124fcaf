import { createContext, useCallback, useContext, useEffect, useState, type MouseEvent, type ReactNode } from "react";

/** The console's pages, by their path under /console/. */
export const PAGES = [
  { path: "", title: "Overview" },
  { path: "keys", title: "Keys" },
  { path: "providers", title: "Providers" },
  { path: "usage", title: "Usage" },
  { path: "calls", title: "Live calls" },
  { path: "playground", title: "Playground" },
] as const;
export type PagePath = (typeof PAGES)[number]["path"];

const BASE = import.meta.env.BASE_URL; // "/console/"

function currentPage(): PagePath {
  const rest = window.location.pathname.startsWith(BASE) ? window.location.pathname.slice(BASE.length).replace(/\/+$/, "") : "";
  return (PAGES.find((page) => page.path === rest)?.path ?? "") as PagePath;
}

const RouterContext = createContext<{ page: PagePath; navigate(page: PagePath): void }>({ page: "", navigate: () => {} });

/** History-API routing under /console/: the gateway answers every such path with the app. */
export function Router({ children }: { children: ReactNode }) {
  const [page, setPage] = useState<PagePath>(currentPage);
  useEffect(() => {
    const onPop = () => setPage(currentPage());
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);
  const navigate = useCallback((next: PagePath) => {
    window.history.pushState(null, "", BASE + next);
    setPage(next);
  }, []);
  return <RouterContext.Provider value={{ page, navigate }}>{children}</RouterContext.Provider>;
}

export function useRoute() {
  return useContext(RouterContext);
}

export function PageLink({ to, children, className }: { to: PagePath; children: ReactNode; className?: string }) {
  const { page, navigate } = useRoute();
  const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    navigate(to);
  };
  return (
    <a href={BASE + to} onClick={onClick} className={className} aria-current={page === to ? "page" : undefined}>
      {children}
    </a>
  );
}
