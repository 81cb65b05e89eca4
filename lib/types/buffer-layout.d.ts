// Minimal typings for the parts of buffer-layout (JS, no bundled types) that lib/schema uses.
declare module 'buffer-layout' {
  export class Layout<T = unknown> {
    constructor(span: number, property?: string);
    span: number;
    property?: string;
    decode(b: Buffer, offset?: number): T;
    encode(src: T, b: Buffer, offset?: number): number;
    getSpan(b?: Buffer, offset?: number): number;
  }
  export class Structure extends Layout<Record<string, unknown>> {
    fields: Layout[];
  }
  export function u8(property?: string): Layout<number>;
  export function u16(property?: string): Layout<number>;
  export function u32(property?: string): Layout<number>;
  export function s8(property?: string): Layout<number>;
  export function s16(property?: string): Layout<number>;
  export function s32(property?: string): Layout<number>;
  export function u16be(property?: string): Layout<number>;
  export function u32be(property?: string): Layout<number>;
  export function s16be(property?: string): Layout<number>;
  export function s32be(property?: string): Layout<number>;
  export function blob(length: number, property?: string): Layout<Buffer>;
  export function struct(fields: Layout[], property?: string): Structure;
}
