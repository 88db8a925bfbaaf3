// Typed parameters (virTypedParameter) as the wire carries them: each value tagged
// with its VIR_TYPED_PARAM_* type, so a uint stays a uint across the daemon.
import type { RemoteTypedParam } from '../rpc/generated/remote-protocol.js';

export type TypedParam = RemoteTypedParam;

/** VIR_TYPED_PARAM_* */
export enum TypedParamType {
  INT = 1,
  UINT = 2,
  LLONG = 3,
  ULLONG = 4,
  DOUBLE = 5,
  BOOLEAN = 6,
  STRING = 7,
}

export const typedParam = {
  int: (field: string, i: number): TypedParam => ({ field, value: { type: TypedParamType.INT, i } }),
  uint: (field: string, ui: number): TypedParam => ({ field, value: { type: TypedParamType.UINT, ui } }),
  llong: (field: string, l: bigint | number): TypedParam => ({ field, value: { type: TypedParamType.LLONG, l: BigInt(l) } }),
  ullong: (field: string, ul: bigint | number): TypedParam => ({ field, value: { type: TypedParamType.ULLONG, ul: BigInt(ul) } }),
  double: (field: string, d: number): TypedParam => ({ field, value: { type: TypedParamType.DOUBLE, d } }),
  boolean: (field: string, b: boolean): TypedParam => ({ field, value: { type: TypedParamType.BOOLEAN, b: b ? 1 : 0 } }),
  string: (field: string, s: string): TypedParam => ({ field, value: { type: TypedParamType.STRING, s } }),
};

/** A parameter's value as a plain JavaScript value (booleans as booleans, 64-bit integers as bigint). */
export function typedParamValue(p: TypedParam): number | bigint | string | boolean {
  const v = p.value;
  switch (v.type) {
    case TypedParamType.INT: return v.i;
    case TypedParamType.UINT: return v.ui;
    case TypedParamType.LLONG: return v.l;
    case TypedParamType.ULLONG: return v.ul;
    case TypedParamType.DOUBLE: return v.d;
    case TypedParamType.BOOLEAN: return v.b !== 0;
    case TypedParamType.STRING: return v.s;
    default: throw new Error(`unknown typed parameter type ${(v as { type: number }).type}`);
  }
}

/** `params` with `field` set to the string `value`, any earlier value dropped (virTypedParamsReplaceString). */
export function replaceStringParam(params: readonly TypedParam[], field: string, value: string): TypedParam[] {
  return [...params.filter((p) => p.field !== field), typedParam.string(field, value)];
}
