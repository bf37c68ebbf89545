/** Builds small fake sysfs/procfs trees in a temp directory, for host layouts this machine does not have. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface FixtureTree {
  root: string;
  /** Writes a file (creating its directories) relative to the tree's root. */
  write(path: string, content: string): void;
  remove(): void;
}

export function fixtureTree(): FixtureTree {
  const root = mkdtempSync(join(tmpdir(), 'hv-host-'));
  return {
    root,
    write(path, content) {
      const full = join(root, path);
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, content);
    },
    remove() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** One CPU's topology directory as sysfs shows it. */
export function writeCpuTopology(
  tree: FixtureTree,
  cpu: number,
  topology: { packageId: number; coreId: number; threadSiblings: string },
): void {
  const dir = `devices/system/cpu/cpu${cpu}/topology`;
  tree.write(`${dir}/physical_package_id`, `${topology.packageId}\n`);
  tree.write(`${dir}/core_id`, `${topology.coreId}\n`);
  tree.write(`${dir}/thread_siblings_list`, `${topology.threadSiblings}\n`);
}
