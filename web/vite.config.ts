import { defineConfig } from "vite";

// The operator's console: a single-page app served by the gateway itself at
// /console (src/server/console-assets.ts), built into dist/console by
// `npm run build:console` (npm start runs it when web/ changed), which sets
// NODE_ENV=production so React's production build is bundled whoever runs it
// (a test runner's NODE_ENV=test would otherwise bring its development build).
export default defineConfig({
  root: import.meta.dirname,
  base: "/console/",
  // React's automatic JSX runtime, compiled by Vite's own transformer (no plugin needed for a build).
  oxc: { jsx: { runtime: "automatic" } },
  build: {
    outDir: "../dist/console",
    emptyOutDir: true,
    // Every asset a file of its own: the page's content security policy allows no data: URLs.
    assetsInlineLimit: 0,
    target: "es2022",
    reportCompressedSize: false,
    rolldownOptions: {
      // TanStack Query marks its modules "use client" for React Server Components, which a SPA does not have.
      onwarn(warning, warn) {
        if (warning.code !== "MODULE_LEVEL_DIRECTIVE") warn(warning);
      },
    },
  },
  // The gateway serves the console and the API from one origin; `vite` (dev) proxies the API to it.
  server: {
    proxy: { "/switchboard.v1.": process.env.SWITCHBOARD_URL ?? "http://127.0.0.1:8080" },
  },
});
