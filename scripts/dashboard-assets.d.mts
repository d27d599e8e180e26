/** Builds the dashboard's browser assets into src/dashboard/assets.generated.ts; true when the file changed. */
export function buildDashboardAssets(): Promise<boolean>;
