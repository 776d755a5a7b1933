"""The HTTP face of the Overlord model: Druid's exact paths, JSON, status codes and error bodies."""
