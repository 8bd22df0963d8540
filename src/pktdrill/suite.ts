// Runs packetdrill scripts from files and folders and summarises the results.
//
// Guarantees: folders are walked recursively and scripts run in sorted path order, each on
// its own fresh stack instance, so one script never affects another; a script that does not
// parse is a failed script with the parser's file:line:column message, not a crash.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseScript } from './parser.js';
import { ScriptSyntaxError } from './lexer.js';
import { runScript, type RunOptions, type ScriptResult } from './runner.js';

export interface SuiteResult {
  total: number;
  passed: number;
  failed: number;
  scripts: Array<{ file: string; passed: boolean; error?: string; warnings: string[] }>;
}

/** Every .pkt file under the given paths (files are taken as they are), sorted, without duplicates. */
export function findScripts(paths: readonly string[]): string[] {
  const out = new Set<string>();
  const walk = (p: string): void => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const name of readdirSync(p).sort()) {
        const child = join(p, name);
        if (statSync(child).isDirectory() || name.endsWith('.pkt')) walk(child);
      }
    } else {
      out.add(p);
    }
  };
  for (const p of paths) walk(p);
  return [...out].sort();
}

export function runScriptFile(file: string, options: RunOptions = {}): ScriptResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return { file, passed: false, error: `${file}: cannot read: ${(e as Error).message}`, warnings: [] };
  }
  try {
    return runScript(parseScript(text, file), options);
  } catch (e) {
    if (e instanceof ScriptSyntaxError) return { file, passed: false, error: e.message, warnings: [] };
    throw e;
  }
}

export function runSuite(paths: readonly string[], options: RunOptions = {}, onResult?: (r: ScriptResult) => void): SuiteResult {
  const scripts: SuiteResult['scripts'] = [];
  for (const file of findScripts(paths)) {
    const r = runScriptFile(file, options);
    onResult?.(r);
    const entry: SuiteResult['scripts'][number] = { file: r.file, passed: r.passed, warnings: r.warnings };
    if (r.error !== undefined) entry.error = r.error;
    scripts.push(entry);
  }
  const passed = scripts.filter((s) => s.passed).length;
  return { total: scripts.length, passed, failed: scripts.length - passed, scripts };
}
