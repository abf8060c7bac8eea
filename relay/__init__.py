"""The relay: merges transcript updates from agents and browsers, stores them durably,
keeps SQL snapshots, and serves the REST API and the web page."""
