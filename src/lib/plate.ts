/** Old (ABC1234) and Mercosul (ABC1D23) plates, once upper-cased without dash or space. */
export const PLATE = /^[A-Z]{3}\d[A-Z0-9]\d{2}$/;

/** A plate as stored and compared: upper case, no dash or space ("bra-2e19" → "BRA2E19"). */
export const normalizePlate = (plate: string) => plate.replace(/[\s-]/g, "").toUpperCase();

export const isPlate = (plate: string) => PLATE.test(normalizePlate(plate));
