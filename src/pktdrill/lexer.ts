// Tokens of packetdrill's script language.
//
// Guarantees: every token carries the line and column (1-based) where it starts, so parse
// errors point at the exact spot; the lexer never throws on any input except to report an
// unterminated string, backquote, comment or code block with its position. Comments (`//` to
// the end of the line and `/* ... */`) are skipped. Numbers keep their source text so the
// parser can tell `0.100` (seconds) from `100` (an integer).

export type TokenKind =
  | 'int'      // 42, 0x1f, -1
  | 'float'    // 0.100, .1
  | 'word'     // identifiers: S, ack, SO_REUSEADDR, inet_addr
  | 'string'   // "text" (value without quotes, escapes resolved)
  | 'backquote' // `shell command` (value without backquotes)
  | 'code'     // %{ python }% (value without delimiters)
  | 'option'   // --name or --name=value at the top of a script (value is the raw text after --)
  | 'ellipsis' // ...
  | 'punct'    // one of + * ~ < > : ( ) [ ] { } , = | . - ;
  | 'eof';

export interface Token {
  kind: TokenKind;
  /** Source text (for strings, backquotes and code: the content). */
  text: string;
  /** Numeric value for 'int' and 'float'. */
  value: number;
  line: number;
  column: number;
}

/** A syntax error with its position; `message` already reads "file:line:col: ...". */
export class ScriptSyntaxError extends Error {
  readonly code = 'ERR_WASM_TCPIP_PKTDRILL_SYNTAX';
  constructor(readonly file: string, readonly line: number, readonly column: number, readonly detail: string) {
    super(`${file}:${line}:${column}: ${detail}`);
    this.name = 'ScriptSyntaxError';
  }
}

const PUNCT = new Set(['+', '*', '~', '<', '>', ':', '(', ')', '[', ']', '{', '}', ',', '=', '|', '.', '-', ';', '!', '/', '&']);

function isDigit(c: string | undefined): boolean { return c !== undefined && c >= '0' && c <= '9'; }
function isWordStart(c: string | undefined): boolean {
  return c !== undefined && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_');
}
function isWordChar(c: string | undefined): boolean { return isWordStart(c) || isDigit(c); }

export function tokenize(src: string, file: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let line = 1;
  let col = 1;
  const n = src.length;

  const advance = (count: number): void => {
    for (let k = 0; k < count; k++) {
      if (src[i] === '\n') { line++; col = 1; } else col++;
      i++;
    }
  };
  const push = (kind: TokenKind, text: string, value: number, l: number, c: number): void => {
    out.push({ kind, text, value, line: l, column: c });
  };

  while (i < n) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') { advance(1); continue; }
    const l = line, cl = col;
    if (c === '/' && src[i + 1] === '/') {
      while (i < n && src[i] !== '\n') advance(1);
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const end = src.indexOf('*/', i + 2);
      if (end < 0) throw new ScriptSyntaxError(file, l, cl, 'unterminated /* comment');
      advance(end + 2 - i);
      continue;
    }
    if (c === '%' && src[i + 1] === '{') {
      const end = src.indexOf('}%', i + 2);
      if (end < 0) throw new ScriptSyntaxError(file, l, cl, 'unterminated %{ code block (expected }%)');
      const text = src.slice(i + 2, end);
      advance(end + 2 - i);
      push('code', text, 0, l, cl);
      continue;
    }
    if (c === '`') {
      const end = src.indexOf('`', i + 1);
      if (end < 0) throw new ScriptSyntaxError(file, l, cl, 'unterminated backquoted command (expected `)');
      const text = src.slice(i + 1, end);
      advance(end + 1 - i);
      push('backquote', text, 0, l, cl);
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let text = '';
      while (j < n && src[j] !== '"') {
        if (src[j] === '\n') throw new ScriptSyntaxError(file, l, cl, 'unterminated string (expected ")');
        if (src[j] === '\\' && j + 1 < n) {
          const e = src[j + 1];
          text += e === 'n' ? '\n' : e === 't' ? '\t' : e === '0' ? '\0' : e;
          j += 2;
          continue;
        }
        text += src[j];
        j++;
      }
      if (j >= n) throw new ScriptSyntaxError(file, l, cl, 'unterminated string (expected ")');
      advance(j + 1 - i);
      push('string', text, 0, l, cl);
      continue;
    }
    if (c === '-' && src[i + 1] === '-' && isWordStart(src[i + 2])) {
      // A header option: --name or --name=value (value runs to the next blank).
      let j = i + 2;
      while (j < n && !/\s/.test(src[j])) j++;
      const text = src.slice(i + 2, j);
      advance(j - i);
      push('option', text, 0, l, cl);
      continue;
    }
    if (c === '.' && src[i + 1] === '.' && src[i + 2] === '.') {
      advance(3);
      push('ellipsis', '...', 0, l, cl);
      continue;
    }
    const negative = c === '-' && (isDigit(src[i + 1]));
    if (isDigit(c) || negative || (c === '.' && isDigit(src[i + 1]))) {
      let j = negative ? i + 1 : i;
      if (src[j] === '0' && (src[j + 1] === 'x' || src[j + 1] === 'X')) {
        j += 2;
        while (j < n && /[0-9a-fA-F]/.test(src[j])) j++;
        const text = src.slice(i, j);
        advance(j - i);
        push('int', text, Number.parseInt(text.replace('0x', '').replace('0X', ''), 16) * (negative ? -1 : 1), l, cl);
        continue;
      }
      while (isDigit(src[j])) j++;
      let float = false;
      // A decimal point belongs to the number only when a digit follows ("0...0.1" is
      // 0, ellipsis, 0.1).
      if (src[j] === '.' && isDigit(src[j + 1])) {
        float = true;
        j++;
        while (isDigit(src[j])) j++;
      }
      const text = src.slice(i, j);
      advance(j - i);
      push(float ? 'float' : 'int', text, Number(text), l, cl);
      continue;
    }
    if (isWordStart(c)) {
      let j = i;
      while (isWordChar(src[j])) j++;
      const text = src.slice(i, j);
      advance(j - i);
      push('word', text, 0, l, cl);
      continue;
    }
    if (PUNCT.has(c)) {
      advance(1);
      push('punct', c, 0, l, cl);
      continue;
    }
    throw new ScriptSyntaxError(file, l, cl, `unexpected character ${JSON.stringify(c)}`);
  }
  out.push({ kind: 'eof', text: '', value: 0, line, column: col });
  return out;
}

/** How a token reads in an error message. */
export function describeToken(t: Token): string {
  switch (t.kind) {
    case 'eof': return 'end of file';
    case 'string': return `string "${t.text}"`;
    case 'backquote': return `\`${t.text}\``;
    case 'code': return 'code block';
    case 'option': return `option --${t.text}`;
    default: return `'${t.text}'`;
  }
}
