"""Alerting for on-call: the sensors, what their alerts say, where they go, and the cursor."""
