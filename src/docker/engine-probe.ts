import { execa } from "execa";

/**
 * Whether a Docker engine answers here: `docker version` reaches the daemon (the client alone
 * prints its own version and fails on the server part). Short timeout: an unreachable remote
 * DOCKER_HOST must not delay the fallback to the embedded runtime.
 */
export async function dockerEngineAnswers(env: Readonly<Record<string, string | undefined>>, timeoutMs = 3_000): Promise<boolean> {
  try {
    const result = await execa("docker", ["version", "--format", "{{.Server.Version}}"], {
      env: definedOnly(env),
      extendEnv: false,
      timeout: timeoutMs,
      reject: false,
      stdin: "ignore",
    });
    return result.exitCode === 0 && result.stdout.trim() !== "";
  } catch {
    return false;
  }
}

function definedOnly(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
