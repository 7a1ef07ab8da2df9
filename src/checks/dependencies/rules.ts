import { defineRules } from "../check.js";

export const dependenciesRules = defineRules("dependencies", {
  "unknown-host": {
    severity: "error",
    summary: "An extraEnv URL points at a host that is neither a registry service nor a compose service.",
    help: "Use the hostname of the registry service the URL calls (http://<hostname>:<port>), or add that service to the registry.",
  },
  "unknown-service": {
    severity: "error",
    summary: "dependsOn names a service that is not in the registry.",
    help: "Remove the entry from dependsOn, or use the registry key of the service meant.",
  },
  "wrong-port": {
    severity: "error",
    summary: "An extraEnv URL calls a registry service on another port than its registered one.",
    help: "Use the called service's registry port in the URL.",
    profiles: { portable: "warning" },
  },
  undeclared: {
    severity: "error",
    summary: "A service calls another registry service through extraEnv without declaring it in dependsOn.",
    help: "Add the called service to the caller's dependsOn and regenerate.",
    profiles: { portable: "warning" },
  },
  unused: {
    severity: "warning",
    summary: "A declared dependency is not called by any extraEnv URL.",
    help: "Add the URL the service calls to extraEnv, or remove the dependency from dependsOn.",
  },
  "compose-depends-on": {
    severity: "error",
    summary: "A registry dependency is missing from the caller's compose depends_on.",
    help: "Add the dependency's hostname to the caller's depends_on (regenerate from the registry).",
    profiles: { portable: "warning" },
  },
  "dns-failure": {
    severity: "error",
    summary: "Live: a dependency URL's host does not resolve from inside the caller's compose network.",
    help: "Point the URL at the compose service name of the service it calls, and make sure that service is in the stack and running.",
  },
  "connection-refused": {
    severity: "error",
    summary: "Live: nothing accepts connections on a dependency URL's host and port.",
    help: "Use the port the called service listens on (its registry port), and check that the service is running.",
  },
  timeout: {
    severity: "error",
    summary: "Live: a dependency URL gave no answer in time.",
    help: "Check that the service behind the URL is running and answers on that port, and that no network setting drops the traffic.",
  },
  "http-status": {
    severity: "error",
    summary: "Live: a dependency URL answered without a 2xx status, or not with HTTP.",
    help: "Make the called service answer GET on the URL's path with a 2xx status (or point the URL at the service that does).",
  },
});
