// Progress display for `make dev`. On a terminal: one live line per step with a
// spinner, its latest status and elapsed time, replaced by ✔/✖ when the step
// ends; other output is printed above it. Elsewhere (CI, pipes, tests): plain
// lines only — the step's start, each new status, and its end.
type Paint = (s: string) => string;

export interface Progress {
  readonly tty: boolean;
  bold: Paint;
  dim: Paint;
  green: Paint;
  yellow: Paint;
  red: Paint;
  /** A line of output (above the live line on a terminal). */
  line(text?: string): void;
  /** Runs `work` as one step; `done` turns its value into the closing text. */
  step<T>(label: string, work: (status: (text: string) => void) => Promise<T>, done?: (value: T) => string): Promise<T>;
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const SGR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

export function progress(out: NodeJS.WriteStream = process.stdout): Progress {
  const tty = out.isTTY === true && process.env.TERM !== "dumb";
  const color = tty && process.env.NO_COLOR === undefined;
  const sgr = (code: number): Paint => (s) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  let live: (() => string) | undefined;
  const clear = () => out.write("\r\x1b[2K");
  // The live line must fit on one row, or \r would only rewind its last row; cut
  // it by visible width, dropping colours rather than cutting an escape sequence.
  const draw = () => {
    if (!live) return;
    const text = live();
    const visible = text.replace(SGR, "");
    const width = out.columns ?? 120;
    out.write(visible.length > width - 1 ? visible.slice(0, width - 2) + "…" : text);
  };

  const p: Progress = {
    tty,
    bold: sgr(1),
    dim: sgr(2),
    green: sgr(32),
    yellow: sgr(33),
    red: sgr(31),
    line(text = "") {
      if (tty && live) clear();
      out.write(`${text}\n`);
      if (tty) draw();
    },
    async step(label, work, done) {
      const started = Date.now();
      const secs = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
      let status = "";
      if (!tty) out.write(`… ${label}\n`);
      let frame = 0;
      const previous = live;
      live = () => `${p.dim(FRAMES[frame % FRAMES.length]!)} ${label}${status ? ` ${p.dim("—")} ${status}` : ""} ${p.dim(secs())}`;
      const timer = tty ? setInterval(() => { frame++; clear(); draw(); }, 80) : undefined;
      if (tty) draw();
      const update = (text: string) => {
        if (text === status) return;
        status = text;
        if (!tty) out.write(`  ${label}: ${text}\n`);
      };
      try {
        const value = await work(update);
        finish(`${p.green("✔")} ${label}${done ? ` ${p.dim("—")} ${done(value)}` : ""} ${p.dim(`(${secs()})`)}`);
        return value;
      } catch (err) {
        finish(`${p.red("✖")} ${label} ${p.dim(`(${secs()})`)}`);
        throw err;
      }

      function finish(text: string) {
        if (timer) clearInterval(timer);
        live = previous;
        if (tty) clear();
        out.write(`${text}\n`);
        if (tty) draw();
      }
    },
  };
  return p;
}
