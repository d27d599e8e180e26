import { createManualClock } from "broadcastkit/testing";
import { describe, expect, it } from "vitest";

describe("createManualClock", () => {
  it("starts at the given time and moves only when told", () => {
    const clock = createManualClock("2030-01-01T00:00:00Z");
    expect(clock.now().toISOString()).toBe("2030-01-01T00:00:00.000Z");
    expect(clock.advance(60_000).toISOString()).toBe("2030-01-01T00:01:00.000Z");
    expect(clock.now().toISOString()).toBe("2030-01-01T00:01:00.000Z");
    clock.set(new Date("2031-05-05T00:00:00Z"));
    expect(clock.now().toISOString()).toBe("2031-05-05T00:00:00.000Z");
  });

  it("hands out a new Date each time, so mutating one does not move the clock", () => {
    const clock = createManualClock(0);
    clock.now().setTime(999);
    expect(clock.now().getTime()).toBe(0);
  });

  it("refuses a start that is not a date", () => {
    expect(() => createManualClock("not a date")).toThrow(RangeError);
  });
});
