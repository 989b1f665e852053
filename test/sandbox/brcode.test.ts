import { describe, expect, it } from "vitest";
import { crc16, crc16Hex, decodeTlv, dynamicBrCode, parseBrCode, tlv } from "../../sandbox/efi/src/brcode";
import { sandbox } from "./helpers";

// A production BR Code printed in the README of Efí's own pix-qr-code-detail example.
const EFI_EXAMPLE =
  "00020101021226830014BR.GOV.BCB.PIX2561qrcodespix.sejaefi.com.br/v2/ff719c748dc244a294adee9174ace3795204000053039865802BR5905EFISA6008SAOPAULO62070503***6304BAC4";

describe("CRC-16/CCITT-FALSE", () => {
  it("matches the catalogue check value for 123456789", () => {
    expect(crc16("123456789")).toBe(0x29b1);
    expect(crc16Hex("123456789")).toBe("29B1");
  });

  it("pads to four upper-case hex digits", () => {
    expect(crc16Hex("")).toBe("FFFF");
    expect(crc16Hex("A")).toMatch(/^[0-9A-F]{4}$/);
  });
});

describe("TLV", () => {
  it("writes a two-digit id, a two-digit length and the value", () => {
    expect(tlv("59", "EFISA")).toBe("5905EFISA");
    expect(decodeTlv("5905EFISA6008SAOPAULO")).toEqual([
      { id: "59", value: "EFISA" },
      { id: "60", value: "SAOPAULO" },
    ]);
  });

  it("refuses values longer than 99 characters and truncated input", () => {
    expect(() => tlv("25", "x".repeat(100))).toThrow(/limit is 99/);
    expect(() => decodeTlv("5910EFISA")).toThrow(/truncated/);
    expect(() => decodeTlv("59")).toThrow(/malformed/);
  });
});

describe("dynamicBrCode", () => {
  it("reproduces Efí's own string byte for byte, CRC included", () => {
    const location = "qrcodespix.sejaefi.com.br/v2/ff719c748dc244a294adee9174ace379";
    expect(dynamicBrCode({ location })).toBe(EFI_EXAMPLE);
    expect(parseBrCode(EFI_EXAMPLE).crcValid).toBe(true);
  });
});

describe("the BR Code a sandbox cob carries", () => {
  it("decodes field by field with a valid CRC", async () => {
    const box = sandbox();
    const cob = await box.createCob("25.00");
    const brcode: string = cob.pixCopiaECola;
    const parsed = parseBrCode(brcode);

    expect(parsed.fields.map((f) => f.id)).toEqual([
      "00",
      "01",
      "26",
      "52",
      "53",
      "58",
      "59",
      "60",
      "62",
      "63",
    ]);
    const field = (id: string) => parsed.fields.find((f) => f.id === id)?.value;
    expect(field("00")).toBe("01");
    expect(field("01")).toBe("12");
    expect(field("52")).toBe("0000");
    expect(field("53")).toBe("986");
    expect(field("54")).toBeUndefined(); // Efí leaves the amount to the payload
    expect(field("58")).toBe("BR");
    expect(field("59")).toBe("EFISA");
    expect(field("60")).toBe("SAOPAULO");

    expect(parsed.merchantAccount).toEqual([
      { id: "00", value: "BR.GOV.BCB.PIX" },
      { id: "25", value: cob.location },
    ]);
    expect(cob.location).toMatch(/^qrcodespix-h\.sejaefi\.com\.br\/v2\/[0-9a-f]{32}$/);
    expect(brcode).toContain(`2685${"0014BR.GOV.BCB.PIX"}2563${cob.location}`);
    expect(parsed.additionalData).toEqual([{ id: "05", value: "***" }]);

    expect(brcode.slice(-8, -4)).toBe("6304");
    expect(parsed.crc).toMatch(/^[0-9A-F]{4}$/);
    expect(parsed.crc).toBe(crc16Hex(brcode.slice(0, -4)));
    expect(parsed.crcValid).toBe(true);
  });

  it("fails the CRC once any character is changed", async () => {
    const box = sandbox();
    const { pixCopiaECola } = await box.createCob("25.00");
    const at = pixCopiaECola.indexOf("EFISA");
    const tampered = `${pixCopiaECola.slice(0, at)}EFISB${pixCopiaECola.slice(at + 5)}`;
    expect(parseBrCode(tampered).crcValid).toBe(false);
    const wrongCrc = `${pixCopiaECola.slice(0, -4)}${pixCopiaECola.slice(-4) === "0000" ? "0001" : "0000"}`;
    expect(parseBrCode(wrongCrc).crcValid).toBe(false);
  });

  it("is the same string on the QR endpoint, with a PNG image and the pay link", async () => {
    const box = sandbox();
    const cob = await box.createCob("25.00");
    const reply = await box.call("GET", `/v2/loc/${cob.loc.id}/qrcode`, { token: await box.token() });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.qrcode).toBe(cob.pixCopiaECola);
    const token = cob.location.split("/").at(-1);
    expect(reply.json.linkVisualizacao).toBe(`https://pix.sejaefi.com.br/cob/pagar/${token}`);

    const [prefix, data] = reply.json.imagemQrcode.split(",");
    expect(prefix).toBe("data:image/png;base64");
    const png = Uint8Array.from(atob(data), (ch) => ch.charCodeAt(0));
    expect(Array.from(png.slice(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(new TextDecoder().decode(png.slice(12, 16))).toBe("IHDR");
    const view = new DataView(png.buffer);
    const width = view.getUint32(16);
    expect(width).toBe(view.getUint32(20));
    expect(width).toBeGreaterThanOrEqual(150);
    expect(width).toBeLessThanOrEqual(260);
  });
});
