import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Webhook } from "standardwebhooks";

export interface ReceivedWebhook {
  readonly headers: Record<string, string>;
  readonly body: string;
  /** What the receiver answered (`null` while it holds the request, or if it never answered). */
  status: number | null;
}

/** What to do with the n-th request (0-based): answer with a status, or hold it until the receiver closes. */
export type ReceiverAnswer = number | "hang";

export interface WebhookReceiver {
  readonly url: string;
  readonly received: ReceivedWebhook[];
  /** The requests that verify with the package's `Webhook.verify` under `secret`, parsed. */
  verified(secret: string): { id: string; payload: { type: string; data: Record<string, unknown> } }[];
  close(): Promise<void>;
}

/** An HTTP receiver on 127.0.0.1 (a free port), as a host's endpoint would be. */
export async function startWebhookReceiver(
  answer: (index: number, request: ReceivedWebhook) => ReceiverAnswer = () => 204,
): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const sockets = new Set<Socket>();
  const held: ServerResponse[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers)) {
        if (typeof value === "string") headers[name] = value;
      }
      const entry: ReceivedWebhook = { headers, body: Buffer.concat(chunks).toString("utf8"), status: null };
      const index = received.length;
      received.push(entry);
      const decided = answer(index, entry);
      if (decided === "hang") {
        held.push(response);
        return;
      }
      entry.status = decided;
      response.writeHead(decided).end();
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    verified(secret) {
      const verifier = new Webhook(secret);
      return received.flatMap((entry) => {
        try {
          const payload = verifier.verify(entry.body, entry.headers) as {
            type: string;
            data: Record<string, unknown>;
          };
          return [{ id: entry.headers["webhook-id"] ?? "", payload }];
        } catch {
          return [];
        }
      });
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      held.length = 0;
    },
  };
}

/** A fresh secret in the `whsec_` form. */
export const webhookSecret = (fill = 3): string => `whsec_${Buffer.alloc(32, fill).toString("base64")}`;

export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > giveUpAt) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
