// virTypedParamsValidate: the setters' check of the parameters they are given,
// against the fields they know and the type each must have, with libvirt's messages.
import { ErrorCode, ErrorDomain, virError } from '../util/error.js';
import { TypedParamType, type TypedParam } from './typed-params.js';

/** virTypedParameterType names, by VIR_TYPED_PARAM_* number. */
const TYPE_NAMES = ['unknown', 'int', 'uint', 'llong', 'ullong', 'double', 'boolean', 'string'];

/** Refuses a parameter that is unknown, given twice or of the wrong type (libvirt reports the first in field order). */
export function validateTypedParams(params: readonly TypedParam[], expected: Readonly<Record<string, TypedParamType>>): void {
  const sorted = [...params].sort((a, b) => (a.field < b.field ? -1 : a.field > b.field ? 1 : 0));
  sorted.forEach((p, i) => {
    const want = Object.hasOwn(expected, p.field) ? expected[p.field] : undefined;
    if (want === undefined) throw virError(ErrorCode.ARGUMENT_UNSUPPORTED, `parameter '${p.field}' not supported`, ErrorDomain.NONE);
    if (i > 0 && sorted[i - 1]!.field === p.field) {
      throw virError(ErrorCode.INVALID_ARG, `parameter '${p.field}' occurs multiple times`, ErrorDomain.NONE);
    }
    if (p.value.type !== want) {
      const got = TYPE_NAMES[p.value.type] ?? 'unknown';
      throw virError(ErrorCode.INVALID_ARG, `invalid type '${got}' for parameter '${p.field}', expected '${TYPE_NAMES[want]}'`, ErrorDomain.NONE);
    }
  });
}
