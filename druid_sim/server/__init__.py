"""The server's plumbing: uvicorn settings, the app and its assembly, the express lane, limits on the wire, workers, stopping."""
