import { TransportProvider } from "@connectrpc/connect-query";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { CallsFeedProvider } from "./calls-feed";
import { Layout } from "./components/Layout";
import { KeysPage } from "./pages/Keys";
import { LiveCallsPage } from "./pages/LiveCalls";
import { OverviewPage } from "./pages/Overview";
import { PlaygroundPage } from "./pages/Playground";
import { ProvidersPage } from "./pages/Providers";
import { SignIn } from "./pages/SignIn";
import { UsagePage } from "./pages/Usage";
import { Router, useRoute } from "./router";
import { forgetKey, storedKey, storeKey } from "./session";
import { gatewayTransport } from "./transport";

export function App() {
  const [key, setKey] = useState(storedKey);
  if (!key) {
    return (
      <SignIn
        onSignedIn={(signedIn) => {
          storeKey(signedIn);
          setKey(signedIn);
        }}
      />
    );
  }
  return (
    <SignedIn
      key={key}
      adminKey={key}
      onSignOut={() => {
        forgetKey();
        setKey(undefined);
      }}
    />
  );
}

/** Everything behind sign-in; remounted per key, so nothing cached for one key is shown to the next. */
function SignedIn({ adminKey, onSignOut }: { adminKey: string; onSignOut(): void }) {
  const transport = useMemo(() => gatewayTransport(adminKey), [adminKey]);
  const queryClient = useMemo(
    () => new QueryClient({ defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false, staleTime: 2_000 } } }),
    [],
  );
  return (
    <TransportProvider transport={transport}>
      <QueryClientProvider client={queryClient}>
        <CallsFeedProvider>
          <Router>
            <Layout onSignOut={onSignOut}>
              <Page adminKey={adminKey} />
            </Layout>
          </Router>
        </CallsFeedProvider>
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
