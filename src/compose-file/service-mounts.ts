import { readdir, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { UsageError } from "../core/errors.js";
import { assertInsideRepository } from "../core/input-files.js";
import { INITDB_DIR } from "./init-scripts.js";
import type { NodeOrigin } from "./located-yaml.js";
import type { ComposePort, ComposeSecretMount, ComposeService, ComposeVolume } from "./model.js";
import type { ServiceContext, YamlReader } from "./yaml-reader.js";

// What a compose service publishes and mounts (ports, volumes, secrets) and its healthcheck.

export function readPorts(node: unknown, what: string, reader: YamlReader): ComposePort[] {
  if (reader.isNull(node)) return [];
  return reader.items(node, `ports of ${what}`).map((item) => {
    if (reader.isMap(item)) {
      const target = reader.field(item, "target", `a port of ${what}`);
      if (!target) reader.fail(`a port of ${what} has no target`, item);
      const published = reader.field(item, "published", `a port of ${what}`);
      const origin = reader.originOf(item, target.keyOrigin);
      return {
        target: portNumber(reader.scalar(target.value, "`target`", target.keyOrigin)),
        ...(published && { published: portNumber(reader.scalar(published.value, "`published`", published.keyOrigin)) }),
        line: origin.line,
        file: origin.file,
      };
    }
    // Short form: [[ip:]published:]target[/protocol]; an IPv6 address comes in brackets.
    const entry = reader.scalar(item, `a port of ${what}`);
    const withoutProtocol = entry.value.split("/")[0]!;
    const parts = withoutProtocol.replace(/^\[[^\]]*\]:/, "").split(":");
    const target = parts[parts.length - 1]!;
    const published = parts.length >= 2 ? parts[parts.length - 2] : undefined;
    return {
      target: portNumber({ ...entry, value: target }),
      ...(published && { published: portNumber({ ...entry, value: published }) }),
      line: entry.line,
      file: entry.file,
    };
  });
}

/** A port number; of a range (`3000-3005`) the first port, which is the one a service listens on. */
function portNumber(scalar: { value: string; line: number; file: string }): number {
  const port = Number(scalar.value.split("-")[0]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`"${scalar.value}" is not a port number`, { file: scalar.file, line: scalar.line });
  }
  return port;
}

export function readVolumes(node: unknown, what: string, context: ServiceContext): ComposeVolume[] {
  const reader: YamlReader = context.reader;
  if (reader.isNull(node)) return [];
  return reader.items(node, `volumes of ${what}`).map((item) => {
    if (reader.isMap(item)) {
      const field = (key: string) => reader.field(item, key, `a volume of ${what}`);
      const type = field("type");
      const source = field("source");
      const target = field("target");
      if (!target) reader.fail(`a volume of ${what} has no target`, item);
      const typeValue = type ? reader.scalar(type.value, "`type`", type.keyOrigin).value : "volume";
      const sourceValue = source ? reader.scalar(source.value, "`source`", source.keyOrigin).value : "";
      const origin = reader.originOf(item, target.keyOrigin);
      return {
        type: typeValue === "bind" ? "bind" : typeValue === "tmpfs" ? "tmpfs" : "volume",
        source: typeValue === "bind" ? hostPath(sourceValue, context.dir) : sourceValue,
        target: reader.scalar(target.value, "`target`", target.keyOrigin).value,
        line: origin.line,
        file: origin.file,
      } satisfies ComposeVolume;
    }
    // Short form: [source:]target[:mode]. A source that looks like a path is a bind mount.
    const entry = reader.scalar(item, `a volume of ${what}`);
    const parts = entry.value.split(":");
    if (parts.length === 1) return { type: "volume", source: "", target: parts[0]!, line: entry.line, file: entry.file } satisfies ComposeVolume;
    const [source, target] = parts as [string, string];
    const isPath = source.startsWith(".") || source.startsWith("/") || source.startsWith("~");
    return {
      type: isPath ? "bind" : "volume",
      source: isPath ? hostPath(source, context.dir) : source,
      target,
      line: entry.line,
      file: entry.file,
    } satisfies ComposeVolume;
  });
}

/**
 * Init scripts run on the host under the embedded runtime (and are copied into the run): a bind
 * mount into the init directory, and every entry of a mounted folder, must stay inside the
 * repository. Refused at the mount's line.
 */
export async function assertInitMountsInside(volumes: readonly ComposeVolume[], context: ServiceContext): Promise<void> {
  for (const volume of volumes) {
    if (volume.type !== "bind" || !(volume.target.replace(/\/$/, "") === INITDB_DIR || volume.target.startsWith(`${INITDB_DIR}/`))) continue;
    const location = { file: volume.file, line: volume.line };
    await assertInsideRepository(volume.source, context.boundary, { shown: context.toRepoPath(volume.source), location });
    const isFolder = await stat(volume.source).then((info) => info.isDirectory(), () => false);
    if (!isFolder) continue;
    for (const entry of await readdir(volume.source)) {
      const path = join(volume.source, entry);
      await assertInsideRepository(path, context.boundary, { shown: context.toRepoPath(path), location });
    }
  }
}

export function hostPath(source: string, dir: string): string {
  if (source === "~" || source.startsWith("~/")) return join(homedir(), source.slice(1));
  return isAbsolute(source) ? source : resolve(dir, source);
}

export function readHealthcheck(node: unknown, at: NodeOrigin, what: string, reader: YamlReader): NonNullable<ComposeService["healthcheck"]> {
  const disable = reader.field(node, "disable", `the healthcheck of ${what}`);
  const testEntry = reader.field(node, "test", `the healthcheck of ${what}`);
  const disabledByFlag = disable !== undefined && reader.scalar(disable.value, "`disable`", disable.keyOrigin).value === "true";
  const test: string[] | string = !testEntry
    ? []
    : reader.isSeq(testEntry.value)
      ? reader.items(testEntry.value, "`test`").map((part) => reader.scalar(part, "a `test` part").value)
      : reader.scalar(testEntry.value, "`test`", testEntry.keyOrigin).value;
  // `test: ["NONE"]` is compose's other spelling of `disable: true`.
  const disabledByTest = Array.isArray(test) && test[0] === "NONE";
  const where = testEntry?.keyOrigin ?? at;
  return { test, line: where.line, file: where.file, disabled: disabledByFlag || disabledByTest };
}

export function readServiceSecrets(node: unknown, what: string, context: ServiceContext): ComposeSecretMount[] {
  const reader: YamlReader = context.reader;
  if (reader.isNull(node)) return [];
  return reader.items(node, `secrets of ${what}`).map((item) => {
    let source: string;
    let target: string | undefined;
    if (reader.isMap(item)) {
      const sourceEntry = reader.field(item, "source", `a secret of ${what}`);
      if (!sourceEntry) reader.fail(`a secret of ${what} has no source`, item);
      source = reader.scalar(sourceEntry.value, "`source`", sourceEntry.keyOrigin).value;
      const targetEntry = reader.field(item, "target", `a secret of ${what}`);
      target = targetEntry && reader.scalar(targetEntry.value, "`target`", targetEntry.keyOrigin).value;
    } else {
      source = reader.scalar(item, `a secret of ${what}`).value;
    }
    const containerPath = target === undefined ? `/run/secrets/${source}` : target.startsWith("/") ? target : `/run/secrets/${target}`;
    const hostFile = context.secretFiles.get(source);
    const origin = reader.originOf(item, { file: "", line: 1 });
    return { source, target: containerPath, ...(hostFile && { hostPath: hostFile }), line: origin.line, file: origin.file };
  });
}
