/**
 * BR Code ("Pix Copia e Cola") as Efí emits it for a dynamic QR: EMV TLV
 * fields (2-digit id, 2-digit length, value), the amount omitted (the payer's bank reads it from
 * the location's payload), and a CRC-16/CCITT-FALSE over the whole string including "6304".
 */

export interface TlvField {
  id: string;
  value: string;
}

/** One TLV field; the length counts characters, so the value must fit in two digits. */
export function tlv(id: string, value: string): string {
  if (!/^\d{2}$/.test(id)) throw new Error(`TLV id must be two digits, got "${id}"`);
  if (value.length > 99) throw new Error(`TLV ${id} value is ${value.length} characters; the limit is 99`);
  return `${id}${String(value.length).padStart(2, "0")}${value}`;
}

/** Splits a TLV string into its fields, in order; throws on a truncated or malformed field. */
export function decodeTlv(input: string): TlvField[] {
  const fields: TlvField[] = [];
  let at = 0;
  while (at < input.length) {
    const head = input.slice(at, at + 4);
    if (!/^\d{4}$/.test(head)) throw new Error(`malformed TLV header "${head}" at ${at}`);
    const length = Number(head.slice(2));
    const value = input.slice(at + 4, at + 4 + length);
    if (value.length !== length) throw new Error(`TLV ${head.slice(0, 2)} at ${at} is truncated`);
    fields.push({ id: head.slice(0, 2), value });
    at += 4 + length;
  }
  return fields;
}

/** CRC-16/CCITT-FALSE: polynomial 0x1021, initial 0xFFFF, no reflection, no final xor. */
export function crc16(input: string): number {
  let crc = 0xffff;
  for (const byte of new TextEncoder().encode(input)) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc;
}

/** The CRC as the BR Code prints it: four upper-case hex digits. */
export function crc16Hex(input: string): string {
  return crc16(input).toString(16).toUpperCase().padStart(4, "0");
}

export interface DynamicBrCodeOptions {
  /** The location URL without its scheme, e.g. `qrcodespix-h.sejaefi.com.br/v2/<32hex>`. */
  location: string;
  merchantName?: string;
  merchantCity?: string;
}

/** The copia-e-cola string of a dynamic (location-based) Pix QR, field for field as Efí's. */
export function dynamicBrCode(options: DynamicBrCodeOptions): string {
  const body = [
    tlv("00", "01"),
    tlv("01", "12"),
    tlv("26", tlv("00", "BR.GOV.BCB.PIX") + tlv("25", options.location)),
    tlv("52", "0000"),
    tlv("53", "986"),
    tlv("58", "BR"),
    tlv("59", options.merchantName ?? "EFISA"),
    tlv("60", options.merchantCity ?? "SAOPAULO"),
    tlv("62", tlv("05", "***")),
  ].join("");
  const withCrcTag = `${body}6304`;
  return withCrcTag + crc16Hex(withCrcTag);
}

export interface ParsedBrCode {
  fields: TlvField[];
  /** Tag 26 split into its sub-fields (00 GUI, 25 location, or 01 key for a static QR). */
  merchantAccount: TlvField[];
  /** Tag 62 split into its sub-fields (05 reference label). */
  additionalData: TlvField[];
  /** The CRC printed in tag 63. */
  crc: string;
  /** The CRC recomputed over everything up to and including "6304". */
  expectedCrc: string;
  crcValid: boolean;
}

/** Decodes a BR Code and checks its CRC; the CRC must be the last field. */
export function parseBrCode(input: string): ParsedBrCode {
  const fields = decodeTlv(input);
  const last = fields.at(-1);
  if (last?.id !== "63" || last.value.length !== 4) throw new Error("the BR Code must end with 6304XXXX");
  const expectedCrc = crc16Hex(input.slice(0, -4));
  const sub = (id: string) => {
    const field = fields.find((f) => f.id === id);
    return field ? decodeTlv(field.value) : [];
  };
  return {
    fields,
    merchantAccount: sub("26"),
    additionalData: sub("62"),
    crc: last.value,
    expectedCrc,
    crcValid: last.value === expectedCrc,
  };
}
