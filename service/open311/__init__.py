"""Open311 GeoReport v2 (/open311/v2) and the integrations whose keys file through it."""
