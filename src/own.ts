// Reading what a caller hands us (options, groups, tensors, step overrides, tfjs options):
// own properties only, each read once, into records with no prototype. So nothing inherited
// (a polluted Object.prototype, an options object made with Object.create(defaults)) can
// reach a check or a step, and nothing that changes between two reads (a getter, a Proxy)
// can pass a check with one value and be used with another. Whatever goes wrong while
// reading (a getter that throws, a revoked Proxy) becomes a TypeError naming the argument.

/** How a value is named in an error: a string quoted, an object by its kind. */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "symbol") return value.toString();
  if (typeof value === "function") return "a function";
  if (value === null) return "null";
  if (typeof value !== "object") return String(value);
  try {
    if (Array.isArray(value)) return "an array";
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto === null || Object.getPrototypeOf(proto) === null) return "an object";
    // A class's prototype has a constructor of its own; an object made with Object.create(other) does not.
    if (!Object.hasOwn(proto as object, "constructor")) return "an object inheriting from another";
    const name = (proto as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === "string" && name !== "" ? `${/^[AEIOU]/.test(name) ? "an" : "a"} ${name}` : "an object";
  } catch (error) {
    return revoked(error) ? "a revoked Proxy" : "an object that cannot be read";
  }
}

const revoked = (error: unknown) => error instanceof TypeError && /revoked/i.test(error.message);

/** The TypeError for a value that threw while it was read (a getter, a Proxy trap). */
function unreadable(name: string, error: unknown): TypeError {
  if (revoked(error)) return new TypeError(`${name} is a revoked Proxy`, { cause: error });
  const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new TypeError(`${name} could not be read: it threw ${why}`, { cause: error });
}

/** Runs `read`, turning anything it throws into a TypeError that names `name` (made only then). */
export function reading<T>(name: string | (() => string), read: () => T): T {
  try {
    return read();
  } catch (error) {
    throw unreadable(typeof name === "string" ? name : name(), error);
  }
}

/**
 * Whether `value` is a plain object: its prototype is null or a realm's Object.prototype
 * (a literal, Object.create(null), JSON.parse's objects, a Proxy of one). Anything else (a
 * Map, a class instance, an object inheriting from another) would keep values where
 * own properties do not show them.
 */
function isPlain(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === null || Object.getPrototypeOf(proto) === null;
}

/**
 * A caller's object, read: every own string-keyed property (a getter is called once), in
 * a record with no prototype; undefined stays undefined. Refuses, with a TypeError that
 * names `name`: anything but a plain object, symbol keys, and whatever throws while read.
 */
export function ownRecord(name: string, value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== "object" || reading(name, () => Array.isArray(value))) {
    throw new TypeError(`${name} must be an object or undefined; got ${describe(value)}`);
  }
  if (!reading(name, () => isPlain(value))) {
    throw new TypeError(
      `${name} must be a plain object (a literal, Object.create(null) or JSON); got ${describe(value)}`,
    );
  }
  const record: Record<string, unknown> = Object.create(null);
  for (const key of reading(name, () => Reflect.ownKeys(value))) {
    if (typeof key === "symbol") throw new TypeError(`${name} has the symbol key ${key.toString()}; its keys must be strings`);
    record[key] = reading(() => `${name}.${key}`, () => Reflect.get(value, key));
  }
  return record;
}

/**
 * A caller's array, read: its own elements (a hole is undefined), at most `max` of them, so
 * that a sparse array of length 2^32 − 1 costs nothing. Anything but an array is refused.
 */
export function ownArray(name: string, value: unknown, max: number, what: string): unknown[] {
  if (!reading(name, () => Array.isArray(value))) throw new TypeError(`${name} must be an array of ${what}; got ${describe(value)}`);
  const length = reading(name, () => (value as unknown[]).length);
  if (length > max) throw new RangeError(`${name} holds ${length} ${what}; at most ${max} are allowed`);
  const out: unknown[] = new Array(length);
  for (let i = 0; i < length; i++) {
    out[i] = reading(() => `${name}[${i}]`, () => (Object.hasOwn(value as object, i) ? (value as unknown[])[i] : undefined));
  }
  return out;
}

/** Rejects any key of an own record that is not in `known`; `hint` may add a suggestion. */
export function knownKeys(
  name: string,
  record: Record<string, unknown>,
  known: readonly string[],
  hint: (key: string, known: readonly string[]) => string = () => "",
): Record<string, unknown> {
  for (const key of Object.keys(record)) {
    if (!known.includes(key)) throw new TypeError(`${name} has an unknown key "${key}"${hint(key, known)}; known keys: ${known.join(", ")}`);
  }
  return record;
}

/** `record[key]` if it is an own property, else undefined: a read that no prototype reaches. */
export function own(record: object, key: string): unknown {
  return Object.hasOwn(record, key) ? (record as Record<string, unknown>)[key] : undefined;
}
