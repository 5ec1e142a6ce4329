// Words and numbers as people read them: "3h", "1,204 likes", "alice and 12 others".

const UNITS: [number, string, Intl.RelativeTimeFormatUnit][] = [
  [60, "s", "second"],
  [60, "m", "minute"],
  [24, "h", "hour"],
  [7, "d", "day"],
  [Number.POSITIVE_INFINITY, "w", "week"],
];

/** "5m", "3h", "2d", "4w": how long ago, short (the full date goes in the element's title). */
export function ago(iso: string, now = Date.now()): string {
  let amount = Math.max(0, (now - Date.parse(iso)) / 1000);
  for (const [size, short] of UNITS) {
    if (amount < size) return `${Math.floor(amount)}${short}`;
    amount /= size;
  }
  return "";
}

/** "5 minutes ago", for screen readers and titles. */
export function agoLong(iso: string, now = Date.now()): string {
  let amount = -Math.max(0, (now - Date.parse(iso)) / 1000);
  const format = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
  for (const [size, , unit] of UNITS) {
    if (Math.abs(amount) < size) return format.format(Math.round(amount), unit);
    amount /= size;
  }
  return "";
}

export function count(n: number, one: string, many: string): string {
  return `${n.toLocaleString("en")} ${n === 1 ? one : many}`;
}

/** A colour per username for the initial-letter avatars, dark enough for white text. */
export function avatarColour(username: string): string {
  let hash = 0;
  for (const char of username) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return `hsl(${hash % 360} 55% 36%)`;
}
