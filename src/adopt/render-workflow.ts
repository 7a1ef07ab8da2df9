/**
 * `.github/workflows/civic-conformance.yml`: the action on every pull request for one product, with
 * the permissions its comment, annotations and status need (as the README's example).
 */
export function renderWorkflow(productPath: string): string {
  return [
    "# Written by `civic-conformance init`: proves the database-per-service rule on every pull request.",
    "name: civic-conformance",
    "on: pull_request",
    "permissions:",
    "  contents: read",
    "  pull-requests: write   # the sticky comment",
    "  checks: write          # annotations on the offending lines",
    "  statuses: write        # civic-conformance/<product> commit status",
    "jobs:",
    "  conformance:",
    "    runs-on: ubuntu-latest",
    "    steps:",
    "      - uses: actions/checkout@v4",
    "      - uses: civic/db-per-service-check@v1",
    "        with:",
    `          product: ${JSON.stringify(productPath)}`,
    "",
  ].join("\n");
}
