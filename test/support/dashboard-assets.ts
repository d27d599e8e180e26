import { buildDashboardAssets } from "../../scripts/dashboard-assets.mjs";

/** vitest's global setup: the dashboard serves the browser code as built from the sources now. */
export default async function setup(): Promise<void> {
  await buildDashboardAssets();
}
