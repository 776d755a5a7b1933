"""druid-sim: record, replay and simulate Apache Druid's Overlord Tasks API."""

from importlib.metadata import PackageNotFoundError, version

try:
    #: The installed distribution's version: ``pyproject.toml`` is its one source.
    __version__ = version("druid-sim")
except PackageNotFoundError:  # imported from a checkout that was never installed
    __version__ = "0+unknown"
