"""Telemetry alerting: score keyed streams of events (one model per stream id) and emit alerts."""
