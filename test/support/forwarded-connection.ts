import { connect, type Socket } from "node:net";

/**
 * Opens the upstream side of a connection a loopback forwarder accepted:
 * both sockets are kept in `open` until they close, their errors are
 * swallowed (the resets are what the tests make), and when either closes
 * both are torn down, after `onClose`. Piping is the forwarder's to do.
 */
export function forwardedConnection(client: Socket, target: { host: string; port: number }, open: Set<Socket>, onClose: () => void = () => {}): Socket {
  const upstream = connect(target.port, target.host);
  for (const socket of [client, upstream]) {
    open.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => {
      open.delete(socket);
      onClose();
      client.destroy();
      upstream.destroy();
    });
  }
  return upstream;
}
