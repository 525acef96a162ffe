/**
 * Exact decimal arithmetic for DT_NUMERIC, DT_DECIMAL and DT_CY: an unscaled bigint and a
 * scale, so 12.50 is { unscaled: 1250n, scale: 2 }.
 */
export interface Decimal {
  unscaled: bigint;
  scale: number;
}

const DECIMAL_TEXT = /^([+-])?(\d*)(?:\.(\d*))?$/;

/** Parses `-12.5`, `.5`, `6.`; returns undefined for anything else. */
export function parseDecimal(text: string): Decimal | undefined {
  const match = DECIMAL_TEXT.exec(text.trim());
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) return undefined;
  const fraction = match[3] ?? '';
  const unscaled = BigInt(`${match[2] || '0'}${fraction}`);
  return { unscaled: match[1] === '-' ? -unscaled : unscaled, scale: fraction.length };
}

export function formatDecimal(d: Decimal): string {
  const negative = d.unscaled < 0n;
  const digits = (negative ? -d.unscaled : d.unscaled).toString().padStart(d.scale + 1, '0');
  const whole = digits.slice(0, digits.length - d.scale);
  const fraction = d.scale > 0 ? `.${digits.slice(digits.length - d.scale)}` : '';
  return `${negative ? '-' : ''}${whole}${fraction}`;
}

/** Changes the scale, rounding half away from zero when digits are dropped. */
export function rescale(d: Decimal, scale: number): Decimal {
  if (scale >= d.scale) {
    return { unscaled: d.unscaled * 10n ** BigInt(scale - d.scale), scale };
  }
  const divisor = 10n ** BigInt(d.scale - scale);
  return { unscaled: divideRounded(d.unscaled, divisor), scale };
}

/** Changes the scale, dropping digits (toward zero). */
export function truncateTo(d: Decimal, scale: number): Decimal {
  if (scale >= d.scale) return rescale(d, scale);
  return { unscaled: d.unscaled / 10n ** BigInt(d.scale - scale), scale };
}

function divideRounded(n: bigint, divisor: bigint): bigint {
  const quotient = n / divisor;
  const remainder = n % divisor;
  const twice = (remainder < 0n ? -remainder : remainder) * 2n;
  if (twice >= divisor) return quotient + (n < 0n ? -1n : 1n);
  return quotient;
}

export function addDecimal(a: Decimal, b: Decimal): Decimal {
  const scale = Math.max(a.scale, b.scale);
  return { unscaled: rescale(a, scale).unscaled + rescale(b, scale).unscaled, scale };
}

export function negateDecimal(a: Decimal): Decimal {
  return { unscaled: -a.unscaled, scale: a.scale };
}

export function multiplyDecimal(a: Decimal, b: Decimal): Decimal {
  return { unscaled: a.unscaled * b.unscaled, scale: a.scale + b.scale };
}

/** Divides to `scale` digits after the point, dropping further digits. b must not be 0. */
export function divideDecimal(a: Decimal, b: Decimal, scale: number): Decimal {
  // a/b = (ua / 10^sa) / (ub / 10^sb); scaled by 10^scale.
  const numerator = a.unscaled * 10n ** BigInt(scale + b.scale);
  const denominator = b.unscaled * 10n ** BigInt(a.scale);
  return { unscaled: numerator / denominator, scale };
}

export function compareDecimal(a: Decimal, b: Decimal): number {
  const scale = Math.max(a.scale, b.scale);
  const x = rescale(a, scale).unscaled;
  const y = rescale(b, scale).unscaled;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Number of digits of the integer part plus the scale. */
export function precisionOf(d: Decimal): number {
  const abs = d.unscaled < 0n ? -d.unscaled : d.unscaled;
  return Math.max(abs.toString().length, d.scale);
}

export function decimalFromNumber(n: number, scale: number): Decimal {
  const text = n.toFixed(Math.min(scale, 100));
  return parseDecimal(text) ?? { unscaled: 0n, scale };
}

export function decimalToNumber(d: Decimal): number {
  return Number(formatDecimal(d));
}
