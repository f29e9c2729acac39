"""The alerts package's tests: real runs, real sensor ticks, a webhook receiver on loopback."""
