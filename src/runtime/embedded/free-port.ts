import { createServer } from "node:net";

/**
 * A TCP port on 127.0.0.1 that nobody listens on right now. Another process may take it before the
 * server binds it, so callers retry a failed bind with a fresh port.
 */
export function findFreePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => (port > 0 ? resolvePort(port) : reject(new Error("the OS gave no free port"))));
    });
  });
}
