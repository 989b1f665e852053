import { describe, expect, it } from "vitest";
import { haversineMeters } from "../../src/lib/geo";
import { AVERAGE_URBAN_SPEED_KMH, greatCircleRouting, ROAD_FACTOR } from "../../src/services/pricing/routing";

const PRACA_DA_SE = { lat: -23.5503, lng: -46.634 };
const MASP_AV_PAULISTA = { lat: -23.5614, lng: -46.6559 };

describe("greatCircleRouting", () => {
  it("estimates Praça da Sé to Av. Paulista as the great circle times the road factor", async () => {
    const straight = haversineMeters(PRACA_DA_SE, MASP_AV_PAULISTA);
    expect(straight).toBeGreaterThan(2500);
    expect(straight).toBeLessThan(3000);

    const { distance_m, duration_s } = await greatCircleRouting.route(PRACA_DA_SE, MASP_AV_PAULISTA);
    expect(distance_m).toBe(Math.round(straight * ROAD_FACTOR));
    expect(distance_m).toBeGreaterThan(2500 * 1.3);
    expect(distance_m).toBeLessThan(3000 * 1.3);
    // at 25 km/h a metre takes 0.144 s
    expect(duration_s).toBe(Math.round((distance_m * 3600) / (AVERAGE_URBAN_SPEED_KMH * 1000)));
    expect(Number.isInteger(distance_m)).toBe(true);
    expect(Number.isInteger(duration_s)).toBe(true);
  });

  it("gives exact figures for one degree of latitude along a meridian", async () => {
    // 1° on the mean Earth radius (6 371 008.8 m) is 111 195.08 m; × 1.3 = 144 553.6 → 144 554 m;
    // 144 554 m at 25 km/h = 144 554 × 0.144 = 20 815.78 → 20 816 s
    const route = await greatCircleRouting.route({ lat: 0, lng: 0 }, { lat: 1, lng: 0 });
    expect(route).toEqual({ distance_m: 144_554, duration_s: 20_816 });
  });

  it("is the same both ways", async () => {
    const there = await greatCircleRouting.route(PRACA_DA_SE, MASP_AV_PAULISTA);
    const back = await greatCircleRouting.route(MASP_AV_PAULISTA, PRACA_DA_SE);
    expect(back).toEqual(there);
  });

  it("is zero for the same point", async () => {
    expect(await greatCircleRouting.route(PRACA_DA_SE, PRACA_DA_SE)).toEqual({
      distance_m: 0,
      duration_s: 0,
    });
  });
});
