// Run-time records a driver keeps per domain (running jobs) without a field on
// the driver class: one map per driver object, gone with the driver.

/** A function giving each driver object its own map, made on first use. */
export function perDriverMap<T>(): (driver: object) => Map<string, T> {
  const byDriver = new WeakMap<object, Map<string, T>>();
  return (driver) => {
    let map = byDriver.get(driver);
    if (!map) byDriver.set(driver, (map = new Map()));
    return map;
  };
}
