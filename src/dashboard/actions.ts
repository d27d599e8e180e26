import { ALLOWED_FROM, RETRY_ACCEPTED_FROM } from "../core/transitions.js";
import type { BroadcastStatus } from "../core/types.js";

/** What a person can ask of a broadcast from the dashboard; each is one admin API route. */
export const DASHBOARD_ACTIONS = [
  "start",
  "schedule",
  "unschedule",
  "pause",
  "resume",
  "cancel",
  "retry",
] as const;
export type DashboardAction = (typeof DASHBOARD_ACTIONS)[number];

/** The admin API route segment of each action. */
export const ACTION_ROUTES: Readonly<Record<DashboardAction, string>> = {
  start: "send",
  schedule: "schedule",
  unschedule: "unschedule",
  pause: "pause",
  resume: "resume",
  cancel: "cancel",
  retry: "retry",
};

/**
 * Whether the status allows the action, by the core's own transition table, so a button is never
 * offered that the service would refuse (a race may still refuse it: the error is then shown).
 * Retrying a `sent` broadcast is accepted but can do nothing, so it is not offered.
 */
export function actionAllowed(action: DashboardAction, status: BroadcastStatus): boolean {
  if (action === "retry") return RETRY_ACCEPTED_FROM.includes(status) && status !== "sent";
  return ALLOWED_FROM[action].includes(status);
}
