import { cli } from "../cli/bin.js";

// The CLI bundled with its dependencies (dist/action/cli.js), for the container image: it runs
// without node_modules, like the action, with jiti shipped beside it.
await cli();
