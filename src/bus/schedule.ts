/**
 * Schedule expressions of scheduled rules: `rate(5 minutes)` and six-field
 * `cron(Minutes Hours Day-of-month Month Day-of-week Year)` in UTC, with EventBridge's
 * wildcards (`* , - / ? L W #`, month and day names). Parsing refuses what EventBridge
 * refuses; {@link nextFireTime} finds when a schedule next fires after a given moment.
 */

/** A parsed schedule. */
export type Schedule = { kind: 'rate'; periodMs: number } | { kind: 'cron'; cron: Cron };

interface Cron {
  minutes: Set<number>;
  hours: Set<number>;
  months: Set<number>;
  years?: Set<number>;
  /** Day-of-month test (undefined when `?`). */
  dom?: (year: number, month: number, day: number) => boolean;
  /** Day-of-week test (undefined when `?`). */
  dow?: (year: number, month: number, day: number) => boolean;
}

const UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/**
 * Parses a schedule expression; undefined when it is not valid.
 *
 * @example
 * parseSchedule('rate(1 hour)');         // { kind: 'rate', periodMs: 3600000 }
 * parseSchedule('cron(0 12 * * ? *)');   // every day at noon UTC
 */
export function parseSchedule(expression: string): Schedule | undefined {
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) {
    const n = Number(rate[1]);
    const unit = rate[2] ?? '';
    const singular = !unit.endsWith('s');
    if (n <= 0 || (n === 1) !== singular) return undefined;
    return { kind: 'rate', periodMs: n * (UNIT_MS[singular ? unit : unit.slice(0, -1)] ?? 0) };
  }
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (!cron) return undefined;
  const fields = (cron[1] ?? '').trim().split(/\s+/);
  if (fields.length !== 6) return undefined;
  const [min, hour, dom, month, dow, year] = fields as [string, string, string, string, string, string];
  // Exactly one of day-of-month and day-of-week is `?`.
  if ((dom === '?') === (dow === '?')) return undefined;
  const minutes = numberSet(min, 0, 59);
  const hours = numberSet(hour, 0, 23);
  const months = numberSet(month, 1, 12, MONTHS, 1);
  const years = year === '*' ? undefined : numberSet(year, 1970, 2199);
  if (!minutes || !hours || !months || (year !== '*' && !years)) return undefined;
  const c: Cron = { minutes, hours, months, ...(years ? { years } : {}) };
  if (dom !== '?') {
    const test = domTest(dom);
    if (!test) return undefined;
    c.dom = test;
  }
  if (dow !== '?') {
    const test = dowTest(dow);
    if (!test) return undefined;
    c.dow = test;
  }
  return { kind: 'cron', cron: c };
}

function value(text: string, min: number, max: number, names?: string[], base = 0): number | undefined {
  const named = names?.indexOf(text.toUpperCase()) ?? -1;
  const n = named >= 0 ? named + base : /^\d+$/.test(text) ? Number(text) : NaN;
  return Number.isInteger(n) && n >= min && n <= max ? n : undefined;
}

function numberSet(field: string, min: number, max: number, names?: string[], base = 0): Set<number> | undefined {
  const out = new Set<number>();
  for (const part of field.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) return undefined;
    let lo: number | undefined;
    let hi: number | undefined;
    if (range === '*') {
      lo = min;
      hi = max;
    } else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      lo = value(a, min, max, names, base);
      hi = value(b, min, max, names, base);
    } else {
      lo = value(range, min, max, names, base);
      hi = stepText === undefined ? lo : max;
    }
    if (lo === undefined || hi === undefined || lo > hi) return undefined;
    for (let n = lo; n <= hi; n += step) out.add(n);
  }
  return out;
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function weekday(year: number, month: number, day: number): number {
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay();
}

function domTest(field: string): Cron['dom'] {
  if (field === 'L') return (y, m, d) => d === daysIn(y, m);
  const w = /^(\d{1,2})W$/.exec(field);
  if (w) {
    const target = Number(w[1]);
    if (target < 1 || target > 31) return undefined;
    // The weekday nearest the given day, within the month.
    return (y, m, d) => {
      const last = daysIn(y, m);
      const t = Math.min(target, last);
      const wd = weekday(y, m, t);
      let nearest = t;
      if (wd === 6) nearest = t === 1 ? 3 : t - 1;
      else if (wd === 0) nearest = t === last ? t - 2 : t + 1;
      return d === nearest;
    };
  }
  const set = numberSet(field, 1, 31);
  return set ? (_y, _m, d) => set.has(d) : undefined;
}

function dowTest(field: string): Cron['dow'] {
  const nth = /^([1-7]|[A-Za-z]{3})#([1-5])$/.exec(field);
  if (nth) {
    const day = value(nth[1] ?? '', 1, 7, DAYS, 1);
    if (day === undefined) return undefined;
    const n = Number(nth[2]);
    return (y, m, d) => weekday(y, m, d) === day - 1 && Math.ceil(d / 7) === n;
  }
  const last = /^([1-7]|[A-Za-z]{3})L$/.exec(field);
  if (last || field === 'L') {
    const day = last ? value(last[1] ?? '', 1, 7, DAYS, 1) : 7;
    if (day === undefined) return undefined;
    return (y, m, d) => weekday(y, m, d) === day - 1 && d + 7 > daysIn(y, m);
  }
  const set = numberSet(field, 1, 7, DAYS, 1);
  return set ? (y, m, d) => set.has(weekday(y, m, d) + 1) : undefined;
}

/**
 * The first time strictly after `after` at which the schedule fires; for a rate, one
 * period after `after`. Undefined when a cron schedule never fires again.
 */
export function nextFireTime(schedule: Schedule, after: number): number | undefined {
  if (schedule.kind === 'rate') return after + schedule.periodMs;
  const c = schedule.cron;
  const start = new Date(Math.floor(after / 60_000) * 60_000 + 60_000);
  let day = Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate());
  // Five years of days bounds the search; beyond that the schedule is treated as finished.
  for (let i = 0; i < 366 * 5; i++, day += 86_400_000) {
    const date = new Date(day);
    const y = date.getUTCFullYear();
    const m = date.getUTCMonth() + 1;
    const d = date.getUTCDate();
    if (c.years && !c.years.has(y)) continue;
    if (!c.months.has(m)) continue;
    if (c.dom && !c.dom(y, m, d)) continue;
    if (c.dow && !c.dow(y, m, d)) continue;
    for (let h = 0; h < 24; h++) {
      if (!c.hours.has(h)) continue;
      for (let min = 0; min < 60; min++) {
        if (!c.minutes.has(min)) continue;
        const t = day + h * 3_600_000 + min * 60_000;
        if (t > after) return t;
      }
    }
  }
  return undefined;
}
