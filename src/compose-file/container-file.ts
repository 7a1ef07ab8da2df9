import { readFile } from "node:fs/promises";
import { posix } from "node:path";
import type { ComposeService } from "./model.js";

/**
 * The host file behind a path inside a service's container: a `secrets:` target, else the most
 * specific bind mount covering it (as in the container's mount table). `undefined` when nothing
 * the compose file says provides it.
 */
export function hostPathOf(containerPath: string, service: ComposeService): string | undefined {
  const secret = service.secrets?.find((mount) => mount.target === containerPath);
  if (secret?.hostPath) return secret.hostPath;
  const binds = service.volumes
    .filter((volume) => volume.type === "bind")
    .filter((volume) => containerPath === volume.target || containerPath.startsWith(`${volume.target.replace(/\/$/, "")}/`))
    .sort((a, b) => b.target.length - a.target.length);
  const bind = binds[0];
  if (!bind) return undefined;
  const inside = posix.relative(bind.target, containerPath);
  return inside === "" ? bind.source : `${bind.source}/${inside}`;
}

/** Why a container file could not be read from the host. */
export type ContainerFileProblem = "not-provided" | "unreadable";

/**
 * The content of a container file as a `*_FILE` variable reads it (`$(< file)` drops trailing
 * newlines), or why it cannot be read here.
 */
export async function readContainerFile(
  containerPath: string,
  service: ComposeService,
): Promise<{ readonly content: string; readonly hostPath: string } | { readonly problem: ContainerFileProblem; readonly hostPath?: string }> {
  const hostPath = hostPathOf(containerPath, service);
  if (!hostPath) return { problem: "not-provided" };
  try {
    return { content: (await readFile(hostPath, "utf8")).replace(/\n+$/, ""), hostPath };
  } catch {
    return { problem: "unreadable", hostPath };
  }
}
