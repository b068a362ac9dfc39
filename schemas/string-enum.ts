// A string limited to a list, as JSON Schema `{type: string, enum: [...]}` (what editors and
// ajv understand) that TypeBox's compiled checker also enforces: TypeBox's own Type.String
// ignores `enum`, so the wire boundary would accept any string.
import { Kind, TypeRegistry, type TSchema } from '@sinclair/typebox';

export interface TStringEnum<T extends string> extends TSchema {
  [Kind]: 'StringEnum';
  static: T;
  type: 'string';
  enum: T[];
}

if (!TypeRegistry.Has('StringEnum')) {
  TypeRegistry.Set('StringEnum', (schema: { enum: string[] }, value: unknown) => typeof value === 'string' && schema.enum.includes(value));
}

export function StringEnum<T extends string>(values: readonly T[], options: Record<string, unknown> = {}): TStringEnum<T> {
  return { ...options, [Kind]: 'StringEnum', type: 'string', enum: [...values] } as TStringEnum<T>;
}
