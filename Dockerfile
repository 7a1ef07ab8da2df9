# civic-conformance as a container, for CI systems other than GitHub Actions (GitLab, Jenkins, …).
# The CLI is the self-contained bundle dist/action/cli.js (no npm install at build time); the docker
# CLI inside drives the compose runtime through the host's engine socket:
#   docker run --rm -v /var/run/docker.sock:/var/run/docker.sock -v "$PWD:$PWD" -w "$PWD" \
#     civic-conformance check products/property-tax --format junit --output report.xml
# Mount the repository at the same path as on the host: compose resolves build contexts and bind
# mounts on the host's engine, which sees host paths.
FROM node:20-alpine

# `skip` builds without the docker CLI (static checks and `--runtime external` only).
ARG DOCKER_CLI=install
RUN if [ "$DOCKER_CLI" = install ]; then apk add --no-cache docker-cli docker-cli-compose; fi

COPY dist/action/cli.js /opt/civic-conformance/cli.js
# The registry module is evaluated in a child process of its own (the sandbox), from this file beside the CLI.
COPY dist/action/registry-child.js /opt/civic-conformance/registry-child.js
COPY dist/action/node_modules /opt/civic-conformance/node_modules

LABEL org.opencontainers.image.title="civic-conformance" \
      org.opencontainers.image.description="Proves a monorepo keeps a strict database-per-service architecture"
ENTRYPOINT ["node", "/opt/civic-conformance/cli.js"]
CMD ["--help"]
