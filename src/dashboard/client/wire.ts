import type { BroadcastStatus, RecipientStatus } from "../../core/types.js";

/** The admin API's progress fields, as `progress/` and the stream send them. */
export interface ProgressWire {
  readonly id: number;
  readonly status: BroadcastStatus;
  readonly total_recipients: number;
  readonly sent_count: number;
  readonly failed_count: number;
  readonly pending_count: number;
  readonly cancelled_count: number;
  readonly progress_pct: number;
  readonly processed_pct: number;
  readonly error_summary: string | null;
  readonly created_at: string;
  readonly scheduled_at: string | null;
  readonly sent_at: string | null;
  readonly completed_at: string | null;
}

/** One broadcast as `GET {api}/{id}/` answers it (the fields the page reads). */
export interface BroadcastWire extends ProgressWire {
  readonly error_counts: Readonly<Record<string, number>>;
}

export interface RecipientWire {
  readonly recipient_id: number | string;
  readonly chat_id: number | string;
  readonly variables?: Readonly<Record<string, string>>;
}

export interface RecipientRowWire {
  readonly recipient_id: number | string;
  readonly status: RecipientStatus;
}

export interface WireIssue {
  readonly path: string;
  readonly message: string;
}
