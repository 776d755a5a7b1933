"""The recorder: a mitmproxy addon, its redaction hook-up and launcher. The only room that imports mitmproxy."""
