// libvirtd's worker limits without threads: at most max_workers driver calls run
// at once, the rest wait in order; high-priority procedures (@priority: high in
// the .x, calls that never block on a guest) may also use prio_workers extra
// slots, so a daemon busy with slow calls still answers them.
export class WorkerPool {
  private running = 0;
  private readonly waiting: Array<{ high: boolean; start: () => void }> = [];

  constructor(
    private readonly maxWorkers: number,
    private readonly prioWorkers: number,
  ) {}

  /** Runs job when a worker is free. */
  run<T>(high: boolean, job: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const start = () => {
        this.running++;
        job()
          .then(resolve, reject)
          .finally(() => {
            this.running--;
            this.next();
          });
      };
      if (this.hasRoom(high)) start();
      else this.waiting.push({ high, start });
    });
  }

  private hasRoom(high: boolean): boolean {
    return this.running < this.maxWorkers + (high ? this.prioWorkers : 0);
  }

  private next(): void {
    const i = this.waiting.findIndex((w) => this.hasRoom(w.high));
    if (i >= 0) this.waiting.splice(i, 1)[0]!.start();
  }
}
