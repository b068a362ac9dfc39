// Great-circle distance (haversine) on a spherical Earth: within 0.5 % of the ellipsoid, which
// is plenty for "within 50 km".
export interface LatLon {
  lat: number;
  lon: number;
}
const R_KM = 6371.0088;

export function distanceKm(a: LatLon, b: LatLon): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}
