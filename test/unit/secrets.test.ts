import { describe, expect, it } from "vitest";
import { maskSecrets, registerSecret } from "../../src/core/secrets.js";

describe("maskSecrets", () => {
  it("masks the password of a connection URL in any scheme, wherever it stands in the text", () => {
    expect(maskSecrets("connect postgresql://svc:s3cr%40t@postgres:5432/db failed")).toBe("connect postgresql://svc:***@postgres:5432/db failed");
    expect(maskSecrets("amqp://civic:hunter22@rabbitmq:5672/x and redis://:pw1234@redis:6379")).toBe("amqp://civic:***@rabbitmq:5672/x and redis://:***@redis:6379");
  });

  it("keeps a URL without a password, and a bare ${VAR} reference, which names a secret without holding one", () => {
    expect(maskSecrets("postgresql://svc@postgres/db")).toBe("postgresql://svc@postgres/db");
    expect(maskSecrets("postgresql://svc:@postgres/db")).toBe("postgresql://svc:@postgres/db");
    expect(maskSecrets("postgresql://svc:${SVC_DB_PASSWORD}@postgres:5432/svc")).toBe("postgresql://svc:${SVC_DB_PASSWORD}@postgres:5432/svc");
    expect(maskSecrets("postgresql://svc:$SVC_PW@postgres/svc")).toBe("postgresql://svc:$SVC_PW@postgres/svc");
  });

  it("masks a reference whose default is a literal password", () => {
    expect(maskSecrets("postgresql://civic:${POSTGRES_PASSWORD:-civic123}@postgres/db")).toBe("postgresql://civic:***@postgres/db");
  });

  it("masks libpq password= keywords and SQL PASSWORD literals", () => {
    expect(maskSecrets("host=db user=svc password=topsecret dbname=x")).toBe("host=db user=svc password=*** dbname=x");
    expect(maskSecrets("CREATE ROLE svc LOGIN PASSWORD 'it''s secret';")).toBe("CREATE ROLE svc LOGIN PASSWORD '***';");
  });

  it("masks every registered secret as a bare string, longest first, and ignores values too short to mask", () => {
    registerSecret("generated-Secret-1");
    registerSecret("generated-Secret-1-longer");
    registerSecret("ab");
    expect(maskSecrets("a generated-Secret-1-longer and generated-Secret-1 in ab")).toBe("a *** and *** in ab");
  });
});
