/** The child side of `startFakeBotApiProcess`: one look-alike, its options as the first argument (JSON). */
import { z } from "zod";
import { createFakeBotApi } from "../../src/testing/fake-bot-api.js";

const optionsSchema = z.object({
  latency: z.union([z.number(), z.object({ baseMs: z.number(), jitterMs: z.number() })]).optional(),
  token: z.string().optional(),
});
const command = z.object({ type: z.enum(["arrivals", "close"]) });

const { latency, token } = optionsSchema.parse(JSON.parse(process.argv[2] ?? "{}"));
const api = createFakeBotApi({
  ...(latency === undefined ? {} : { latency }),
  ...(token === undefined ? {} : { token }),
});
const { url } = await api.start();
process.send?.({ type: "listening", url });

process.on("message", async (message: unknown) => {
  const parsed = command.safeParse(message);
  if (!parsed.success) return;
  if (parsed.data.type === "arrivals") {
    const at = api.requests.filter((r) => r.method === "sendMessage").map((r) => r.at.getTime());
    process.send?.({ type: "arrivals", at });
    return;
  }
  await api.close();
  process.disconnect();
});
// The parent went away without closing: do not linger.
process.on("disconnect", () => {
  void api.close().then(() => process.exit(0));
});
