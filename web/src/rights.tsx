import { useQuery } from "@connectrpc/connect-query";
import { createContext, useContext, type ReactNode } from "react";
import { AdminRights } from "../../gen/ts/switchboard/v1/admin_console_pb.js";
import { AdminService } from "../../gen/ts/switchboard/v1/admin_service_pb.js";

/** Why an action is not offered to the signed-in key, or undefined when it is (or while its rights are not yet known). */
export interface Rights {
  /** Creating, editing and revoking gateway keys. */
  keys?: string;
  /** Staging, promoting, rolling back and disabling vendor keys. */
  vendorKeys?: string;
}

const READ_ONLY = "This is a read-only admin key: it can look, not change.";
const NOT_MASTER = "Only the master key may change vendor keys.";

const RightsContext = createContext<Rights>({});

/**
 * The signed-in key's rights, as GetLiveStats tells them (the query the
 * Overview and Providers pages poll anyway): the gateway refuses a write the
 * key may not make, and the console says so before, on the button.
 */
export function RightsProvider({ children }: { children: ReactNode }) {
  const live = useQuery(AdminService.method.getLiveStats, {}, { refetchInterval: 60_000 });
  const rights = live.data?.callerRights;
  const value: Rights =
    rights === AdminRights.READ_ONLY ? { keys: READ_ONLY, vendorKeys: READ_ONLY } : rights === AdminRights.ADMIN ? { vendorKeys: NOT_MASTER } : {};
  return <RightsContext.Provider value={value}>{children}</RightsContext.Provider>;
}

export function useRights(): Rights {
  return useContext(RightsContext);
}
