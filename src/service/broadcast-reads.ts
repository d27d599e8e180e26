import { err, ok, type Result, type ResultAsync } from "neverthrow";
import { type BroadcastError, notFound } from "../core/errors.js";
import { broadcastIdSchema, parseInput } from "../core/schemas.js";
import type { Broadcast } from "../core/types.js";
import { adapterCall } from "./guarded-ports.js";
import type { ServiceDeps } from "./service-deps.js";

/** A broadcast id from the outside: a positive safe integer, refused on the path `id` otherwise. */
export const validId = (id: unknown): Result<number, BroadcastError> =>
  parseInput(broadcastIdSchema, id, ["id"]);

export function loadBroadcast(
  deps: Pick<ServiceDeps, "store" | "logger">,
  id: number,
): ResultAsync<Broadcast, BroadcastError> {
  return adapterCall(deps.logger, "getBroadcast", () => deps.store.getBroadcast(id)).andThen((found) =>
    found === null ? err(notFound(id)) : ok(found),
  );
}
