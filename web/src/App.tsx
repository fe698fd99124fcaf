import { TransportProvider } from "@connectrpc/connect-query";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { CallsFeedProvider } from "./calls-feed";
import { Layout } from "./components/Layout";
import type { ErrorInWords } from "./errors";
import { KeysPage } from "./pages/Keys";
import { LiveCallsPage } from "./pages/LiveCalls";
import { OverviewPage } from "./pages/Overview";
import { PlaygroundPage } from "./pages/Playground";
import { ProvidersPage } from "./pages/Providers";
import { SignIn } from "./pages/SignIn";
import { UsagePage } from "./pages/Usage";
import { RightsProvider } from "./rights";
import { Router, useRoute } from "./router";
import { forgetKey, storedKey, storeKey } from "./session";
import { gatewayTransport } from "./transport";

export function App() {
  const [key, setKey] = useState(storedKey);
  /** Why the console signed out by itself: the gateway refused the key (revoked, expired, …). */
  const [refused, setRefused] = useState<ErrorInWords>();
  const signOut = (why?: ErrorInWords) => {
    forgetKey();
    setKey(undefined);
    setRefused(why);
  };
  if (!key) {
    return (
      <SignIn
        refused={refused}
        onSignedIn={(signedIn) => {
          storeKey(signedIn);
          setRefused(undefined);
          setKey(signedIn);
        }}
      />
    );
  }
  return <SignedIn key={key} adminKey={key} onSignOut={signOut} />;
}

/** Everything behind sign-in; remounted per key, so nothing cached for one key is shown to the next. */
function SignedIn({ adminKey, onSignOut }: { adminKey: string; onSignOut(why?: ErrorInWords): void }) {
  // A key the gateway refuses now (revoked or expired since sign-in) is forgotten at once, not kept for the next reload.
  const transport = useMemo(() => gatewayTransport(adminKey, onSignOut), [adminKey]); // eslint-disable-line react-hooks/exhaustive-deps
  const queryClient = useMemo(
    () => new QueryClient({ defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false, staleTime: 2_000 } } }),
    [],
  );
  return (
    <TransportProvider transport={transport}>
      <QueryClientProvider client={queryClient}>
        <RightsProvider>
          <CallsFeedProvider>
            <Router>
              <Layout onSignOut={() => onSignOut()}>
                <Page adminKey={adminKey} />
              </Layout>
            </Router>
          </CallsFeedProvider>
        </RightsProvider>
      </QueryClientProvider>
    </TransportProvider>
  );
}

function Page({ adminKey }: { adminKey: string }) {
  const { page } = useRoute();
  switch (page) {
    case "keys":
      return <KeysPage />;
    case "providers":
      return <ProvidersPage />;
    case "usage":
      return <UsagePage />;
    case "calls":
      return <LiveCallsPage />;
    case "playground":
      return <PlaygroundPage adminKey={adminKey} />;
    default:
      return <OverviewPage />;
  }
}
