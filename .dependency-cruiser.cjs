/**
 * Imports point inward only: adapters, http and dashboard -> service -> ports -> core.
 * `npm run depcheck` (part of `npm test`) fails when a file breaks this.
 */
const layer = (name) => `^src/${name}/`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "core-is-pure",
      comment: "src/core imports no other layer of the package and no Node built-in.",
      severity: "error",
      from: { path: layer("core") },
      to: { pathNot: [layer("core"), "^node_modules/(zod|neverthrow|date-fns)/"] },
    },
    {
      name: "ports-only-core",
      severity: "error",
      from: { path: layer("ports") },
      to: { path: ["^src/(service|adapters|http|dashboard|testing)/"] },
    },
    {
      name: "ports-no-node",
      severity: "error",
      from: { path: layer("ports") },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "service-not-outward",
      severity: "error",
      from: { path: layer("service") },
      to: { path: ["^src/(adapters|http|dashboard|testing)/"] },
    },
    {
      name: "adapters-not-http",
      severity: "error",
      from: { path: layer("adapters") },
      to: { path: ["^src/http/"] },
    },
    {
      name: "http-not-adapters",
      severity: "error",
      from: { path: layer("http") },
      to: { path: ["^src/adapters/"] },
    },
    {
      name: "http-not-dashboard",
      comment: "The admin API stands alone; the dashboard is built on it, not the other way round.",
      severity: "error",
      from: { path: layer("http") },
      to: { path: ["^src/dashboard/"] },
    },
    {
      name: "dashboard-not-adapters",
      comment: "The dashboard reaches broadcasts through the service and the admin API only.",
      severity: "error",
      from: { path: layer("dashboard") },
      to: { path: ["^src/(adapters|testing)/"] },
    },
    {
      name: "no-circular",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // Worktrees may link node_modules from another checkout: resolve packages where they are linked.
    preserveSymlinks: true,
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
    },
  },
};
