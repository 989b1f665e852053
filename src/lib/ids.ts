import { ulid } from "ulidx";

export type IdPrefix =
  | "usr"
  | "rtk"
  | "aud"
  | "fam"
  | "qte"
  | "ride"
  | "evt"
  | "txn"
  | "stl"
  | "pout"
  | "pkey"
  | "pay"
  | "dlq"
  | "rfd"
  | "whk"
  | "pm"
  | "ntf"
  | "dvc"
  | "dcx"
  | "doc"
  | "cns"
  | "prc"
  | "com"
  | "srg";

/** Opaque, time-sortable ids with a type prefix, e.g. `usr_01JD8Y3M0S3Q4VQK6E9Q1T2B5C`. */
export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  return `${prefix}_${ulid(now)}`;
}
