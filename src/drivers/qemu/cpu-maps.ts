// CPU maps as libvirt's API carries them (VIR_CPU_MAPLEN): `maplen` bytes per
// map, one bit per host CPU, the maps packed one after the other.

/** `count` maps of `maplen` bytes, the i-th with the bits of maps[i]'s CPUs (CPUs beyond the map left out). */
export function packCpuMaps(maps: readonly (readonly number[])[], count: number, maplen: number): Buffer {
  const packed = Buffer.alloc(count * maplen);
  maps.slice(0, count).forEach((cpus, i) => {
    for (const cpu of cpus) if (cpu < maplen * 8) packed[i * maplen + (cpu >> 3)]! |= 1 << (cpu & 7);
  });
  return packed;
}

/** The CPUs a caller's map names (virBitmapNewData). */
export function unpackCpuMap(map: Buffer): Set<number> {
  const cpus = new Set<number>();
  for (let cpu = 0; cpu < map.length * 8; cpu++) if (map[cpu >> 3]! & (1 << (cpu & 7))) cpus.add(cpu);
  return cpus;
}
