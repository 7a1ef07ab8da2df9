import type { ComposeService } from "../../compose-file/model.js";
import type { Finding } from "../../core/report-model.js";
import type { Service } from "../../registry/model.js";
import { credentialInstanceFindings } from "./credential-instance-rules.js";
import { databaseUrlFindings } from "./database-url-rules.js";
import { dependsOnFindings } from "./depends-on-rules.js";
import { dockerfileFindings } from "./dockerfile-rules.js";
import { extraEnvFindings } from "./extra-env-rules.js";
import { portFindings } from "./port-rules.js";
import type { ServiceRuleContext } from "./service-rule-context.js";

/** All rules for one registry service that has a compose service of its hostname. */
export function serviceFindings(service: Service, composeService: ComposeService, context: ServiceRuleContext): Finding[] {
  return [
    ...databaseUrlFindings(service, composeService, context),
    ...credentialInstanceFindings(service, composeService, context),
    ...portFindings(service, composeService, context),
    ...extraEnvFindings(service, composeService, context),
    ...dependsOnFindings(service, composeService, context),
    ...dockerfileFindings(service, composeService, context),
  ];
}
