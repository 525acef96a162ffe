/**
 * Date parts, date arithmetic and the string forms of dates. A date is a `Date` whose local
 * fields are the wall-clock value, as GETDATE() returns it on the machine running the package.
 */

export type DatePart =
  | 'year' | 'quarter' | 'month' | 'dayofyear' | 'day' | 'week' | 'weekday'
  | 'hour' | 'minute' | 'second' | 'millisecond';

/** Datepart names and abbreviations from the DATEPART/DATEADD/DATEDIFF docs (any case). */
const DATE_PARTS: Record<string, DatePart> = {
  year: 'year', yy: 'year', yyyy: 'year',
  quarter: 'quarter', qq: 'quarter', q: 'quarter',
  month: 'month', mm: 'month', m: 'month',
  dayofyear: 'dayofyear', dy: 'dayofyear', y: 'dayofyear',
  day: 'day', dd: 'day', d: 'day',
  week: 'week', wk: 'week', ww: 'week',
  weekday: 'weekday', dw: 'weekday', w: 'weekday',
  hour: 'hour', hh: 'hour',
  minute: 'minute', mi: 'minute', n: 'minute',
  second: 'second', ss: 'second', s: 'second',
  millisecond: 'millisecond', ms: 'millisecond',
};

export function toDatePart(name: string): DatePart | undefined {
  return DATE_PARTS[name.trim().toLowerCase()];
}

const MS_PER_DAY = 86_400_000;

/** Days since 1970-01-01 of the local calendar date (no time zone shifts involved). */
function dayNumber(d: Date): number {
  return Math.round(Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) / MS_PER_DAY);
}

function dayOfYear(d: Date): number {
  return dayNumber(d) - Math.round(Date.UTC(d.getFullYear(), 0, 1) / MS_PER_DAY) + 1;
}

/** DATEPART: weekday counts Sunday as 1; week 1 is the week (Sunday to Saturday) of Jan 1. */
export function datePart(part: DatePart, d: Date): number {
  switch (part) {
    case 'year':
      return d.getFullYear();
    case 'quarter':
      return Math.floor(d.getMonth() / 3) + 1;
    case 'month':
      return d.getMonth() + 1;
    case 'dayofyear':
      return dayOfYear(d);
    case 'day':
      return d.getDate();
    case 'week': {
      const janFirstWeekday = new Date(d.getFullYear(), 0, 1).getDay();
      return Math.floor((dayOfYear(d) - 1 + janFirstWeekday) / 7) + 1;
    }
    case 'weekday':
      return d.getDay() + 1;
    case 'hour':
      return d.getHours();
    case 'minute':
      return d.getMinutes();
    case 'second':
      return d.getSeconds();
    case 'millisecond':
      return d.getMilliseconds();
  }
}

/** DATEADD: adds `n` units to the wall-clock fields. Month ends clamp (Jan 31 + 1 month). */
export function dateAdd(part: DatePart, n: number, d: Date): Date {
  const r = new Date(d.getTime());
  switch (part) {
    case 'year':
      return addMonths(d, 12 * n);
    case 'quarter':
      return addMonths(d, 3 * n);
    case 'month':
      return addMonths(d, n);
    case 'dayofyear':
    case 'day':
    case 'weekday':
      r.setDate(r.getDate() + n);
      return r;
    case 'week':
      r.setDate(r.getDate() + 7 * n);
      return r;
    case 'hour':
      r.setHours(r.getHours() + n);
      return r;
    case 'minute':
      r.setMinutes(r.getMinutes() + n);
      return r;
    case 'second':
      r.setSeconds(r.getSeconds() + n);
      return r;
    case 'millisecond':
      r.setMilliseconds(r.getMilliseconds() + n);
      return r;
  }
}

function addMonths(d: Date, months: number): Date {
  const total = d.getFullYear() * 12 + d.getMonth() + months;
  const year = Math.floor(total / 12);
  const month = total - year * 12;
  const lastDay = new Date(year, month + 1, 0).getDate();
  const r = new Date(d.getTime());
  r.setFullYear(year, month, Math.min(d.getDate(), lastDay));
  return r;
}

/** DATEDIFF: the number of `part` boundaries crossed from `a` to `b` (negative if b < a). */
export function dateDiff(part: DatePart, a: Date, b: Date): number {
  const days = dayNumber(b) - dayNumber(a);
  switch (part) {
    case 'year':
      return b.getFullYear() - a.getFullYear();
    case 'quarter':
      return (b.getFullYear() * 4 + Math.floor(b.getMonth() / 3))
        - (a.getFullYear() * 4 + Math.floor(a.getMonth() / 3));
    case 'month':
      return (b.getFullYear() * 12 + b.getMonth()) - (a.getFullYear() * 12 + a.getMonth());
    case 'dayofyear':
    case 'day':
    case 'weekday':
      return days;
    case 'week':
      // Weeks start on Sunday; 1970-01-04 was a Sunday.
      return Math.floor((dayNumber(b) - 3) / 7) - Math.floor((dayNumber(a) - 3) / 7);
    case 'hour':
      return days * 24 + b.getHours() - a.getHours();
    case 'minute':
      return (days * 24 + b.getHours() - a.getHours()) * 60 + b.getMinutes() - a.getMinutes();
    case 'second':
      return wallSeconds(b) - wallSeconds(a);
    case 'millisecond':
      return (wallSeconds(b) - wallSeconds(a)) * 1000
        + b.getMilliseconds() - a.getMilliseconds();
  }
}

function wallSeconds(d: Date): number {
  return dayNumber(d) * 86_400 + d.getHours() * 3600 + d.getMinutes() * 60 + d.getSeconds();
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** `yyyy-mm-dd`, the DT_DBDATE string form. */
export function formatDate(d: Date): string {
  return `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/**
 * `yyyy-mm-dd hh:mm:ss`, followed for DT_DBTIMESTAMP by the fraction as SSIS prints it
 * (nine digits, `.123000000`) when the milliseconds are not zero.
 * TODO(expressions): the nine digits follow what SSIS users report for
 * `(DT_WSTR, 30) GETDATE()`; Microsoft's data types page writes the format `[.fff]`.
 */
export function formatDateTime(d: Date, withFraction: boolean): string {
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  const ms = d.getMilliseconds();
  const fraction = withFraction && ms !== 0 ? `.${pad(ms, 3)}000000` : '';
  return `${formatDate(d)} ${time}${fraction}`;
}

const ISO = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?$/;
const US = new RegExp(
  '^(\\d{1,2})/(\\d{1,2})/(\\d{4})' +
    '(?: (\\d{1,2}):(\\d{2})(?::(\\d{2})(?:\\.(\\d{1,9}))?)?(?: ?([AaPp][Mm]))?)?$',
);

/**
 * Parses the date strings a cast accepts: ISO `yyyy-mm-dd[ hh:mm[:ss[.fff]]]` and the
 * en-US `m/d/yyyy[ h:mm[:ss][ AM|PM]]` the SSIS documentation's examples use. Returns
 * undefined for other shapes and for impossible dates (2003-02-30).
 */
export function parseDateString(text: string): Date | undefined {
  const s = text.trim();
  let year: number;
  let month: number;
  let day: number;
  let fields: (string | undefined)[];
  let meridiem: string | undefined;
  const iso = ISO.exec(s);
  const us = iso ? null : US.exec(s);
  if (iso) {
    [year, month, day] = [Number(iso[1]), Number(iso[2]), Number(iso[3])];
    fields = iso.slice(4, 8);
  } else if (us) {
    [month, day, year] = [Number(us[1]), Number(us[2]), Number(us[3])];
    fields = us.slice(4, 8);
    meridiem = us[8]?.toUpperCase();
  } else {
    return undefined;
  }
  let hour = Number(fields[0] ?? 0);
  const minute = Number(fields[1] ?? 0);
  const second = Number(fields[2] ?? 0);
  const ms = Number((fields[3] ?? '').padEnd(3, '0').slice(0, 3));
  if (meridiem !== undefined) {
    if (hour < 1 || hour > 12) return undefined;
    hour = (hour % 12) + (meridiem === 'PM' ? 12 : 0);
  }
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }
  const d = new Date(year, month - 1, day, hour, minute, second, ms);
  d.setFullYear(year);
  if (d.getMonth() !== month - 1 || d.getDate() !== day) return undefined;
  return d;
}

/** The same wall-clock date at midnight. */
export function startOfDay(d: Date): Date {
  const r = new Date(d.getTime());
  r.setHours(0, 0, 0, 0);
  return r;
}

/** A local `Date` holding the UTC wall-clock fields of `d` (for GETUTCDATE). */
export function utcWallClock(d: Date): Date {
  const r = new Date(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(),
    d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
  r.setFullYear(d.getUTCFullYear());
  return r;
}
