/**
 * CPU used during a run, read from /proc (Linux): this process's, the PostgreSQL server processes
 * serving the bench's own connections (found by `application_name`), and the whole machine's, each
 * as a share of one core, so that a figure says whether the database or the client was the limit.
 */
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import type pg from "pg";

export const BENCH_APPLICATION = "broadcastkit-bench";

const TICKS_PER_SECOND = 100;

/** utime + stime of a process, in clock ticks; 0 once it is gone. */
function processTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** Busy ticks of all cores together (everything but idle and iowait), and iowait ticks. */
function machineTicks(): { busy: number; iowait: number } {
  try {
    const fields = readFileSync("/proc/stat", "utf8")
      .split("\n")[0]!
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    return { busy: fields.reduce((a, b) => a + b, 0) - fields[3]! - fields[4]!, iowait: fields[4]! };
  } catch {
    return { busy: 0, iowait: 0 };
  }
}

export interface CpuShares {
  /** This process (the workers), % of one core. */
  readonly client: number;
  /** The server processes of the bench's connections, % of one core. */
  readonly database: number;
  /** Every process on the machine, % of one core (the machine has `cores` of them). */
  readonly machine: number;
  /** Time the machine's cores sat idle waiting for the disk, % of one core. */
  readonly iowait: number;
  /** Write-ahead log the server wrote meanwhile (all sessions), MB per second; null without a pool. */
  readonly walMBps: number | null;
  readonly cores: number;
}

/** Starts measuring; `stop()` answers the shares since. Reads the backends' pids at both ends. */
export async function measureCpu(pool: pg.Pool | null): Promise<{ stop: () => Promise<CpuShares> }> {
  const backends = async (): Promise<number[]> => {
    if (pool === null) return [];
    const rows = await pool.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
      [BENCH_APPLICATION],
    );
    return rows.rows.map((row) => row.pid);
  };
  const walPosition = async (): Promise<number | null> => {
    if (pool === null) return null;
    const rows = await pool.query<{ bytes: string }>(
      "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint AS bytes",
    );
    return Number(rows.rows[0]!.bytes);
  };
  const startPids = await backends();
  const startWal = await walPosition();
  const start = new Map(startPids.map((pid) => [pid, processTicks(pid)]));
  const startClient = process.cpuUsage();
  const startMachine = machineTicks();
  const startAt = performance.now();
  return {
    async stop() {
      const seconds = (performance.now() - startAt) / 1000;
      const client = process.cpuUsage(startClient);
      const endMachine = machineTicks();
      const endWal = await walPosition();
      let database = 0;
      for (const pid of new Set([...startPids, ...(await backends())])) {
        database += processTicks(pid) - (start.get(pid) ?? 0);
      }
      const share = (ticks: number) => (100 * ticks) / TICKS_PER_SECOND / seconds;
      return {
        client: (client.user + client.system) / 1e4 / seconds,
        database: share(database),
        machine: share(endMachine.busy - startMachine.busy),
        iowait: share(endMachine.iowait - startMachine.iowait),
        walMBps: startWal === null || endWal === null ? null : (endWal - startWal) / 1e6 / seconds,
        cores: cpus().length,
      };
    },
  };
}

export const formatCpu = (cpu: CpuShares): string =>
  `CPU: workers ${cpu.client.toFixed(0)} %, database ${cpu.database.toFixed(0)} %, machine ${cpu.machine.toFixed(0)} % of ${cpu.cores * 100} %` +
  `, iowait ${cpu.iowait.toFixed(0)} %${cpu.walMBps === null ? "" : `; WAL ${cpu.walMBps.toFixed(1)} MB/s`}`;
