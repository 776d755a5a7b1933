"""druid-sim: record, replay and simulate Apache Druid's Overlord Tasks API."""

__version__ = "0.1.0"
