import { Api } from "grammy";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTelegramSender } from "../../../src/adapters/telegram/index.js";
import type { MessageSender } from "../../../src/ports/sender.js";
import {
  type BotAnswer,
  botAnswers,
  closedPortUrl,
  createFakeBotApi,
} from "../../../src/testing/fake-bot-api.js";
import { message, recordingLogger, TOKEN } from "./support.js";

const SECRET = TOKEN.split(":")[1] ?? "";
const api = createFakeBotApi();
let apiRoot = "";

beforeAll(async () => {
  apiRoot = (await api.start()).url;
});
afterAll(() => api.close());

/** Everything a host could ever see from a sender: its results, thrown errors and log calls. */
async function everythingSeen(
  sender: MessageSender,
  logger: ReturnType<typeof recordingLogger>,
  chats: number[],
) {
  const seen: unknown[] = [];
  for (const chat of chats) {
    try {
      seen.push(await sender.send(message(chat)));
    } catch (error) {
      seen.push(error instanceof Error ? { message: error.message, stack: error.stack } : error);
    }
  }
  seen.push(logger.lines);
  return JSON.stringify(seen);
}

const expectNoToken = (text: string) => {
  expect(text).not.toContain(SECRET);
  expect(text).not.toContain(encodeURIComponent(TOKEN));
};

const EVERY_FAILURE: BotAnswer[] = [
  botAnswers.tooManyRequests(1),
  botAnswers.forbidden(),
  botAnswers.badRequest("chat not found"),
  botAnswers.badRequest("can't parse entities"),
  botAnswers.serverError(),
  botAnswers.raw(502, "<html>bad gateway</html>"),
  botAnswers.migrated(-100777),
  botAnswers.slow(2_000),
  botAnswers.hangUp(),
];

describe("the bot token never leaves the sender", () => {
  it("is absent from every result and log line, for every kind of failure", async () => {
    const logger = recordingLogger();
    const chats = EVERY_FAILURE.map((answer, i) => {
      api.answerChat(1000 + i, answer);
      return 1000 + i;
    });
    const sender = createTelegramSender({ token: TOKEN, apiRoot, logger, timeoutMs: 200 });
    const seen = await everythingSeen(sender, logger, chats);
    expect(logger.lines.length).toBeGreaterThanOrEqual(EVERY_FAILURE.length);
    expectNoToken(seen);
  });

  it("is absent when the connection is refused", async () => {
    const logger = recordingLogger();
    const sender = createTelegramSender({ token: TOKEN, apiRoot: await closedPortUrl(), logger });
    expectNoToken(await everythingSeen(sender, logger, [1]));
  });

  it("is absent when fetch itself puts the URL, token included, into its error", async () => {
    const logger = recordingLogger();
    const sender = createTelegramSender({ token: TOKEN, apiRoot: "not a url", logger });
    const seen = await everythingSeen(sender, logger, [1]);
    expect(seen).toContain("Failed to parse URL");
    expectNoToken(seen);
  });

  it("is absent when a custom fetch's error and its cause carry the URL", async () => {
    const logger = recordingLogger();
    const leakyFetch: typeof fetch = async (input) => {
      throw new Error(`request to ${String(input)} failed`, {
        cause: Object.assign(new Error(`connect ECONNRESET for ${String(input)}`), { code: "ECONNRESET" }),
      });
    };
    const sender = createTelegramSender({ token: TOKEN, fetch: leakyFetch, logger });
    const seen = await everythingSeen(sender, logger, [1]);
    expect(seen).toContain("ECONNRESET");
    expectNoToken(seen);
  });

  it("is absent when a rate limiter fails with the token in its error", async () => {
    const logger = recordingLogger();
    const sender = createTelegramSender({
      token: TOKEN,
      apiRoot,
      logger,
      rateLimiter: {
        acquire: async () => {
          throw new Error(`cannot reach store for bot${TOKEN}`);
        },
        pause: async () => {},
      },
    });
    const seen = await everythingSeen(sender, logger, [1]);
    expect(seen).toContain("Rate limiter unavailable");
    expectNoToken(seen);
  });

  it("is absent through grammY, whose network errors wrap the fetch error", async () => {
    const logger = recordingLogger();
    const sender = createTelegramSender({
      api: new Api(TOKEN, { apiRoot: await closedPortUrl() }),
      logger,
    });
    const seen = await everythingSeen(sender, logger, [1]);
    expect(seen).toContain("Network error");
    expectNoToken(seen);
  });

  it("never throws, even when the logger does", async () => {
    const throwing = {
      debug: () => {
        throw new Error("logger down");
      },
      info: () => {
        throw new Error("logger down");
      },
      warn: () => {
        throw new Error("logger down");
      },
      error: () => {
        throw new Error("logger down");
      },
    };
    api.answerChat(2000, botAnswers.serverError());
    const sender = createTelegramSender({ token: TOKEN, apiRoot, logger: throwing });
    await expect(sender.send(message(2000))).resolves.toMatchObject({ status: "failed", kind: "transient" });
  });
});
