/**
 * # The clock port: the only place time is read
 *
 * The core never reads time; the service and worker ask this port and pass the answer in.
 * Tests use `createManualClock` from `broadcastkit/testing` to move time by hand.
 */
export interface Clock {
  now(): Date;
}
