// virConnectSupportsFeature's features (virDrvFeature) and the ones no driver
// decides for itself (virDriverFeatureIsGlobal): they follow from the RPC
// protocol, so every driver answers them alike.

/** virDrvFeature */
export enum DriverFeature {
  MIGRATION_V1 = 1,
  REMOTE = 2,
  MIGRATION_V2 = 3,
  MIGRATION_P2P = 4,
  MIGRATION_DIRECT = 5,
  MIGRATION_V3 = 6,
  MIGRATE_CHANGE_PROTECTION = 7,
  FD_PASSING = 8,
  TYPED_PARAM_STRING = 9,
  PROGRAM_KEEPALIVE = 10,
  XML_MIGRATABLE = 11,
  MIGRATION_OFFLINE = 12,
  MIGRATION_PARAMS = 13,
  REMOTE_EVENT_CALLBACK = 14,
  REMOTE_CLOSE_CALLBACK = 15,
  NETWORK_UPDATE_HAS_CORRECT_ORDER = 16,
}

/** virDriverFeatureIsGlobal: 1 or 0 for a feature every driver answers alike, undefined for one the driver decides. */
export function globalFeatureSupport(feature: number): 0 | 1 | undefined {
  switch (feature) {
    // the remote driver answers these itself; a local driver says no
    case DriverFeature.REMOTE:
    case DriverFeature.PROGRAM_KEEPALIVE:
    case DriverFeature.REMOTE_CLOSE_CALLBACK:
    case DriverFeature.REMOTE_EVENT_CALLBACK:
      return 0;
    case DriverFeature.TYPED_PARAM_STRING:
    case DriverFeature.NETWORK_UPDATE_HAS_CORRECT_ORDER:
    case DriverFeature.FD_PASSING:
      return 1;
    default:
      return undefined;
  }
}
