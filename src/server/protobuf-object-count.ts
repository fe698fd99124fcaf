import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import type { RequestExcess } from "../common/request-objects.js";

/** What protobufOutgrows holds a message to: the objects and values of ../common/request-objects.ts, and protobuf-es' recursion limit. */
export interface ProtobufLimits {
  objects: number;
  values: number;
  recursionLimit: number;
}

/**
 * Which count of `limits` a binary message of `desc` breaks, read from its
 * bytes before protobuf-es builds it (fromBinary has no hook, and builds
 * every message first): objects are messages (map entries and Struct's
 * Values included, groups too), values every field on the wire (an element
 * of an unpacked list one each, a packed list one). The walk reads the bytes
 * as protobuf-es' fromBinary does (by the field's kind, not the wire type, for
 * the fields `desc` has; unknown ones skipped by wire type), stopping at the
 * first count past its limit; it builds nothing. Bytes it cannot read (cut
 * short, a bad tag, nesting past the recursion limit) end the walk with
 * undefined: fromBinary then says what is wrong with them.
 */
export function protobufOutgrows(desc: DescMessage, bytes: Uint8Array, limits: ProtobufLimits): RequestExcess | undefined {
  const walk = new WireWalk(bytes, limits);
  try {
    walk.message(desc, bytes.length, 0);
    return undefined;
  } catch (stop) {
    return stop === TOO_MANY_OBJECTS ? "objects" : stop === TOO_MANY_VALUES ? "values" : undefined;
  }
}

// Thrown to end the walk (one object each, made once).
const TOO_MANY_OBJECTS = new Error("too many objects");
const TOO_MANY_VALUES = new Error("too many values");
const UNREADABLE = new Error("unreadable");

const WIRE_VARINT = 0;
const WIRE_BIT64 = 1;
const WIRE_LENGTH_DELIMITED = 2;
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
const WIRE_BIT32 = 5;

/** A message's fields by number, made once per message type. */
const fieldsByNumber = new WeakMap<DescMessage, Map<number, DescField>>();

function fieldsOf(desc: DescMessage): Map<number, DescField> {
  let fields = fieldsByNumber.get(desc);
  if (!fields) {
    fields = new Map(desc.fields.map((field) => [field.number, field]));
    fieldsByNumber.set(desc, fields);
  }
  return fields;
}

class WireWalk {
  private pos = 0;
  private depth = 0;
  private objects = 0;
  private values = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly limits: ProtobufLimits,
  ) {}

  /** A message up to `end`, or, for a group (`groupField` not 0), up to its end-group tag. */
  message(desc: DescMessage, end: number, groupField: number): void {
    if (++this.depth > this.limits.recursionLimit) throw UNREADABLE;
    this.countObject();
    const fields = fieldsOf(desc);
    while (this.pos < end) {
      const tag = this.tag();
      const number = tag >>> 3;
      const wireType = tag & 7;
      if (groupField !== 0 && wireType === WIRE_END_GROUP) {
        if (number !== groupField) throw UNREADABLE;
        this.depth--;
        return;
      }
      this.countValue();
      const field = fields.get(number);
      if (field) this.field(field, wireType);
      else this.skip(wireType, number, this.limits.recursionLimit - this.depth);
    }
    // A group the bytes end inside.
    if (groupField !== 0) throw UNREADABLE;
    this.depth--;
  }

  private field(field: DescField, wireType: number): void {
    switch (field.fieldKind) {
      case "scalar":
        return this.scalar(field.scalar);
      case "enum":
        return this.varint();
      case "message":
        return this.messageField(field.message, field.delimitedEncoding, field.number);
      case "list":
        if (field.listKind === "message") return this.messageField(field.message, field.delimitedEncoding, field.number);
        {
          const scalar = field.listKind === "scalar" ? field.scalar : ScalarType.INT32;
          // A packed run: numbers only, built as one list.
          if (wireType === WIRE_LENGTH_DELIMITED && scalar !== ScalarType.STRING && scalar !== ScalarType.BYTES) return this.skipBytes(this.length());
          return this.scalar(scalar);
        }
      case "map":
        return this.mapEntry(field);
    }
  }

  private messageField(desc: DescMessage, delimited: boolean, number: number): void {
    if (delimited) return this.message(desc, this.bytes.length, number);
    const length = this.length();
    this.message(desc, this.pos + length, 0);
  }

  /** A map entry: key (1) and value (2), other numbers read past as protobuf-es reads past them (as the next tag). */
  private mapEntry(field: Extract<DescField, { fieldKind: "map" }>): void {
    this.countObject();
    const end = this.length() + this.pos;
    while (this.pos < end) {
      const number = this.tag() >>> 3;
      this.countValue();
      if (number === 1) this.scalar(field.mapKey);
      else if (number === 2) {
        if (field.mapKind === "message") this.messageField(field.message, false, 0);
        else if (field.mapKind === "enum") this.varint();
        else this.scalar(field.scalar);
      }
    }
  }

  private scalar(type: ScalarType): void {
    switch (type) {
      case ScalarType.STRING:
      case ScalarType.BYTES:
        return this.skipBytes(this.length());
      case ScalarType.DOUBLE:
      case ScalarType.FIXED64:
      case ScalarType.SFIXED64:
        return this.skipBytes(8);
      case ScalarType.FLOAT:
      case ScalarType.FIXED32:
      case ScalarType.SFIXED32:
        return this.skipBytes(4);
      default:
        return this.varint();
    }
  }

  /** An unknown field, skipped as protobuf-es' BinaryReader.skip skips it. */
  private skip(wireType: number, number: number, recursionLimit: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        return this.varint();
      case WIRE_BIT64:
        return this.skipBytes(8);
      case WIRE_BIT32:
        return this.skipBytes(4);
      case WIRE_LENGTH_DELIMITED:
        return this.skipBytes(this.length());
      case WIRE_START_GROUP:
        if (recursionLimit <= 0) throw UNREADABLE;
        for (;;) {
          const tag = this.tag();
          if ((tag & 7) === WIRE_END_GROUP) {
            if (tag >>> 3 !== number) throw UNREADABLE;
            return;
          }
          this.countValue();
          this.skip(tag & 7, tag >>> 3, recursionLimit - 1);
        }
      default:
        throw UNREADABLE;
    }
  }

  /** A tag, refused as BinaryReader.tag refuses one (over 32 bits, field 0, wire type 6 or 7). */
  private tag(): number {
    const start = this.pos;
    const tag = this.varint32();
    const read = this.pos - start;
    if (read > 5 || (read === 5 && this.bytes[this.pos - 1]! > 0x0f)) throw UNREADABLE;
    if (tag >>> 3 === 0 || (tag & 7) > 5) throw UNREADABLE;
    return tag;
  }

  /** A length prefix (a uint32 varint, as BinaryReader.uint32 reads it). */
  private length(): number {
    return this.varint32();
  }

  /** A varint's low 32 bits, unsigned; its bytes read past (ten at most). */
  private varint32(): number {
    let result = 0;
    for (let read = 0; read < 10; read++) {
      if (this.pos >= this.bytes.length) throw UNREADABLE;
      const byte = this.bytes[this.pos++]!;
      if (read < 5) result |= (byte & 0x7f) << (7 * read);
      if ((byte & 0x80) === 0) return result >>> 0;
    }
    throw UNREADABLE;
  }

  private varint(): void {
    this.varint32();
  }

  private skipBytes(count: number): void {
    this.pos += count;
    if (this.pos > this.bytes.length) throw UNREADABLE;
  }

  private countObject(): void {
    if (++this.objects > this.limits.objects) throw TOO_MANY_OBJECTS;
  }

  private countValue(): void {
    if (++this.values > this.limits.values) throw TOO_MANY_VALUES;
  }
}
