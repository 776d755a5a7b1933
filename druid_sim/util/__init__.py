"""Small helpers every room may use: Druid's compact JSON, quoting values in messages."""
